using EventSourcing.Projections;
using EventSourcing.Storage;

namespace EventSourcing.Reactors;

/// <summary>
/// Where every reactor stands, from any process sharing the store: its committed checkpoint, the head, lag, state, the
/// process running it and its dead letters; waiting until a reactor has passed a position; replaying one from a position.
/// </summary>
/// <remarks>Resolve it from the container <c>AddEventSourcing</c> fills.</remarks>
public sealed class ReactorStatusReader
{
    private readonly IEnumerable<Reactor> _reactors;
    private readonly IProjectionStore _checkpoints;
    private readonly IEventReader _events;
    private readonly ILeaderElection _election;
    private readonly ReactorActivity _activity;
    private readonly TimeProvider _timeProvider;

    internal ReactorStatusReader(IEnumerable<Reactor> reactors, IProjectionStore checkpoints, IEventReader events, ILeaderElection election, ReactorActivity activity, TimeProvider timeProvider)
    {
        _reactors = reactors;
        _checkpoints = checkpoints;
        _events = events;
        _election = election;
        _activity = activity;
        _timeProvider = timeProvider;
    }

    /// <summary>The status of every registered reactor, as <see cref="ProjectionStatus"/> rows with the lifecycle <c>reactor</c>.</summary>
    public async Task<IReadOnlyList<ProjectionStatus>> ReadAsync(CancellationToken cancellationToken = default)
    {
        var head = await _events.ReadHeadPositionAsync(cancellationToken).ConfigureAwait(false);
        var statuses = new List<ProjectionStatus>();
        foreach (var reactor in _reactors)
        {
            var name = ReactorRunner.CheckpointName(reactor);
            var state = await _checkpoints.ReadStateAsync(name, cancellationToken).ConfigureAwait(false);
            var letters = await _checkpoints.ReadDeadLettersAsync(name, cancellationToken).ConfigureAwait(false);
            var here = _activity.For(reactor.Name);
            var node = here.ActiveHere ? _election.Node : await _election.FindLeaderAsync(name, cancellationToken).ConfigureAwait(false);
            var running = here.ActiveHere ? here.State : node is null ? ReactorStates.NotRunning : ReactorStates.Running;
            // Stopped at a poison event: its letter is past the checkpoint, which did not move over it.
            var stopped = letters.Any(letter => letter.Position > state.ServingPosition);
            var position = Math.Min(state.ServingPosition, head);
            statuses.Add(new ProjectionStatus(
                reactor.Name,
                state.ServingGeneration,
                "reactor",
                string.Empty,
                position,
                head,
                head - position,
                stopped ? ReactorStates.Stopped : running,
                null,
                letters.Count,
                node));
        }

        return statuses;
    }

    /// <summary>
    /// Waits until the reactor named <paramref name="reactor"/> has handled every event up to <paramref name="position"/>
    /// (its committed checkpoint has passed it, in whichever process runs it), at most <paramref name="timeout"/>; false then.
    /// </summary>
    public async Task<bool> WaitForAsync(string reactor, long position, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var name = ReactorRunner.CheckpointName(Find(reactor));
        var here = _activity.For(reactor);
        var started = _timeProvider.GetTimestamp();
        while (true)
        {
            var change = here.NextChangeAsync();
            var state = await _checkpoints.ReadStateAsync(name, cancellationToken).ConfigureAwait(false);
            if (state.ServingPosition >= position || (here.Generation == state.ServingGeneration && here.Position >= position))
            {
                return true;
            }

            var left = timeout - _timeProvider.GetElapsedTime(started);
            if (left <= TimeSpan.Zero)
            {
                return false;
            }

            // Run here, a commit wakes the wait; run elsewhere, the store says when its checkpoints may have moved.
            await Task.WhenAny(change, _checkpoints.WaitForChangeAsync(left, cancellationToken)).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>
    /// Has the reactor named <paramref name="reactor"/> handle the log again from <paramref name="fromPosition"/>
    /// (inclusive): a new checkpoint generation just before it is swapped in, and the process running the reactor follows
    /// it within a second. Its commands carry ids derived from the _events, so events it already acted on change nothing.
    /// Also how a reactor stopped at a poison event is restarted (from the event, once fixed, or after it, to skip it).
    /// Its dead letters from <paramref name="fromPosition"/> on are deleted: those events are handled again.
    /// </summary>
    public async Task ReplayAsync(string reactor, long fromPosition, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(fromPosition, 1);
        var name = ReactorRunner.CheckpointName(Find(reactor));
        var generation = await _checkpoints.StartGenerationAsync(name, scratch: false, cancellationToken).ConfigureAwait(false);
        var batch = await _checkpoints.BeginAsync(name, generation, cancellationToken).ConfigureAwait(false);
        await using (batch.ConfigureAwait(false))
        {
            batch.Checkpoint(fromPosition - 1);
            await batch.CommitAsync(cancellationToken).ConfigureAwait(false);
        }

        var replaced = await _checkpoints.SwapAsync(name, generation, cancellationToken).ConfigureAwait(false);
        await _checkpoints.DropGenerationAsync(name, replaced, cancellationToken).ConfigureAwait(false);
        await _checkpoints.DropDeadLettersAsync(name, fromPosition, cancellationToken).ConfigureAwait(false); // handled again: failing again letters them again
    }

    /// <summary>The registered reactor named <paramref name="reactor"/>.</summary>
    /// <exception cref="ArgumentException">No reactor has that name.</exception>
    public Reactor Find(string reactor) =>
        _reactors.FirstOrDefault(r => r.Name == reactor)
        ?? throw new ArgumentException($"There is no reactor '{reactor}'. Known reactors: {string.Join(", ", _reactors.Select(r => r.Name))}.", nameof(reactor));
}
