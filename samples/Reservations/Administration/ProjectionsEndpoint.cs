using EventSourcing.Projections;

namespace Reservations.Administration;

public static class ProjectionsEndpoint
{
    public static RouteGroupBuilder MapProjectionsStatus(this RouteGroupBuilder group)
    {
        group.MapGet("/admin/projections", async (ProjectionStatusReader status, CancellationToken cancellationToken) => TypedResults.Ok(await status.ReadAsync(cancellationToken)))
            .WithName("GetProjections")
            .WithSummary("Each projection's position, head, lag, state and dead letters.");
        return group;
    }
}
