using EventSourcing.Projections;
using EventSourcing.Storage;

namespace Reservations.Administration;

public static class ProjectionsEndpoint
{
    public sealed record ProjectionStatus(string Name, int Version, string Lifecycle, long Position, long Head, long Lag, string State, int DeadLetters);

    public static RouteGroupBuilder MapProjectionsStatus(this RouteGroupBuilder group)
    {
        group.MapGet("/admin/projections", GetAsync).WithName("GetProjections").WithSummary("Each projection's position, lag, state and dead letters.");
        return group;
    }

    private static async Task<IResult> GetAsync(ProjectionCatalog catalog, IProjectionStore views, IEventReader events, CancellationToken cancellationToken)
    {
        var head = await events.ReadHeadPositionAsync(cancellationToken);
        var statuses = new List<ProjectionStatus>();
        foreach (var registration in catalog.All)
        {
            var state = await views.ReadStateAsync(registration.Name, cancellationToken);
            var letters = await views.ReadDeadLettersAsync(registration.Name, cancellationToken);
            var position = registration.Lifecycle == ProjectionLifecycle.Live ? head : state.ServingPosition;
            statuses.Add(new ProjectionStatus(
                registration.Name,
                registration.Projection.Version,
                registration.Lifecycle.ToString().ToLowerInvariant(),
                position,
                head,
                Math.Max(0, head - position),
                state.BuildingGeneration is null ? "running" : "rebuilding",
                letters.Count));
        }

        return TypedResults.Ok(statuses);
    }
}
