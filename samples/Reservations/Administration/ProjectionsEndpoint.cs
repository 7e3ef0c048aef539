using EventSourcing.Projections;
using EventSourcing.Reactors;

namespace Reservations.Administration;

public static class ProjectionsEndpoint
{
    public static RouteGroupBuilder MapProjectionsStatus(this RouteGroupBuilder group)
    {
        group.MapGet("/admin/projections", async (ProjectionStatusReader projections, ReactorStatusReader reactors, CancellationToken cancellationToken) =>
                TypedResults.Ok((await projections.ReadAsync(cancellationToken)).Concat(await reactors.ReadAsync(cancellationToken)).ToList()))
            .WithName("GetProjections")
            .WithSummary("Each projection's and reactor's position, head, lag, state and dead letters; for a reactor (lifecycle \"reactor\"), the node running it.");
        return group;
    }
}
