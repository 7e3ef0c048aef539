namespace EventSourcing.Deciders;

/// <summary>A stream's state as its decider folds it, read with <see cref="DeciderHandler{TCommand, TEvent, TState}.LoadAsync"/>.</summary>
/// <param name="StreamId">The stream.</param>
/// <param name="State">The state after the stream's last event (the decider's initial state for a stream with no events).</param>
/// <param name="Version">The stream's version: how many events it holds (0 when none). An <c>If-Match</c> for the next command.</param>
/// <param name="Position">The global position of the stream's last event (0 when none): wait for a projection to pass it to read views as of this state.</param>
public sealed record StreamState<TState>(string StreamId, TState State, long Version, long Position)
{
    /// <summary>Whether the stream has any event.</summary>
    public bool Exists => Version > 0;
}
