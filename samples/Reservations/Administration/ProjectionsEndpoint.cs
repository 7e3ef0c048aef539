using EventSourcing.Projections;
using EventSourcing.Reactors;
using Reservations.OpenApi;

namespace Reservations.Administration;

public static class ProjectionsEndpoint
{
    public static RouteGroupBuilder MapProjectionsStatus(this RouteGroupBuilder group)
    {
        group.MapGet("/admin/projections", async (ProjectionStatusReader projections, ReactorStatusReader reactors, CancellationToken cancellationToken) =>
                TypedResults.Ok((await projections.ReadAsync(cancellationToken)).Concat(await reactors.ReadAsync(cancellationToken)).ToList()))
            .WithName("GetProjections")
            .WithTags(ApiDocument.Administration)
            .WithSummary("List projections and reactors")
            .WithDescription("Each projection's and reactor's position, the log's head, the lag between them, its state and its dead letters; for a reactor (lifecycle \"reactor\"), the node running it. Needs the admin API key.");
        return group;
    }
}
