using EventSourcing.Storage;

namespace EventSourcing.Projections;

/// <summary>
/// Where every projection stands: position, head of the log, lag, state, dead letters. An async projection stopped at
/// a poison event (<see cref="PoisonEventPolicy.Stop"/>) is read from its dead letters, as a reactor's is: the letter of
/// the event it stopped at is past its checkpoint, which did not move over it; so any process sharing the store sees it.
/// </summary>
public sealed class ProjectionStatusReader(ProjectionCatalog catalog, IProjectionStore views, IEventReader events)
{
    /// <summary>The status of every registered projection, in registration order.</summary>
    public async Task<IReadOnlyList<ProjectionStatus>> ReadAsync(CancellationToken cancellationToken = default)
    {
        var head = await events.ReadHeadPositionAsync(cancellationToken).ConfigureAwait(false);
        var statuses = new List<ProjectionStatus>();
        foreach (var registration in catalog.All)
        {
            var state = await views.ReadStateAsync(registration.Name, cancellationToken).ConfigureAwait(false);
            var letters = await views.ReadDeadLettersAsync(registration.Name, cancellationToken).ConfigureAwait(false);
            var live = registration.Lifecycle == ProjectionLifecycle.Live;
            var position = live ? head : Math.Min(state.ServingPosition, head);
            var stoppedAt = registration is { Lifecycle: ProjectionLifecycle.Async, OnPoisonEvent: PoisonEventPolicy.Stop }
                ? letters.Where(letter => letter.Position > state.ServingPosition).Select(letter => (long?)letter.Position).Min()
                : null;
            statuses.Add(new ProjectionStatus(
                registration.Name,
                registration.Projection.Version,
                registration.Lifecycle.ToString().ToLowerInvariant(),
                registration.Projection.ViewType.Name,
                position,
                head,
                head - position,
                live ? ProjectionStates.Live
                    : state.BuildingGeneration is not null ? ProjectionStates.Rebuilding
                    : stoppedAt is not null ? ProjectionStates.Stopped
                    : ProjectionStates.Running,
                state.BuildingGeneration is null ? null : state.BuildingPosition,
                letters.Count,
                StoppedAt: stoppedAt));
        }

        return statuses;
    }
}

/// <summary>One projection's status.</summary>
/// <param name="Name">The projection's name.</param>
/// <param name="Version">Its version.</param>
/// <param name="Lifecycle"><c>inline</c>, <c>async</c> or <c>live</c> (<c>reactor</c> for a reactor's row).</param>
/// <param name="ViewType">The view type's name.</param>
/// <param name="Position">The position its serving views have reached.</param>
/// <param name="Head">The head of the log.</param>
/// <param name="Lag">Events not yet projected.</param>
/// <param name="State">See <see cref="ProjectionStates"/> (a reactor's: <see cref="Reactors.ReactorStates"/>).</param>
/// <param name="RebuildPosition">How far the rebuild has come, when rebuilding.</param>
/// <param name="DeadLetters">How many events it failed on.</param>
/// <param name="Node">The process running it, when known (reactors).</param>
/// <param name="StoppedAt">The position of the event an async projection stopped at (<see cref="ProjectionStates.Stopped"/>), if it did.</param>
public sealed record ProjectionStatus(string Name, int Version, string Lifecycle, string ViewType, long Position, long Head, long Lag, string State, long? RebuildPosition, int DeadLetters, string? Node = null, long? StoppedAt = null);

/// <summary>The states a projection's status reports.</summary>
public static class ProjectionStates
{
    /// <summary>Stored, and kept up to date (inline: with every append; async: by the process following the log).</summary>
    public const string Running = "running";

    /// <summary>A rebuild is under way or was interrupted; the serving views stay readable meanwhile.</summary>
    public const string Rebuilding = "rebuilding";

    /// <summary>Not stored: folded from its stream on every read, always current; there is nothing to rebuild or verify.</summary>
    public const string Live = "live";

    /// <summary>
    /// An async projection stopped at an event it failed on (<see cref="PoisonEventPolicy.Stop"/>): its views stay before
    /// that event (<see cref="ProjectionStatus.StoppedAt"/>) until the projection is fixed and its process restarted.
    /// </summary>
    public const string Stopped = "stopped";
}
