namespace EventSourcing.Deciders;

/// <summary>
/// Pure domain logic for one kind of stream, with no I/O: the state before any event, how an event changes
/// the state, and which events a command produces in a state (or a <see cref="DomainException"/> when a rule forbids it).
/// Time and new ids arrive inside the command, so the same inputs always give the same events.
/// </summary>
/// <typeparam name="TCommand">The commands the stream accepts.</typeparam>
/// <typeparam name="TEvent">The events the stream holds.</typeparam>
/// <typeparam name="TState">The state folded from the events.</typeparam>
/// <param name="Initial">The state of a stream with no events.</param>
/// <param name="Evolve">The state after one more event.</param>
/// <param name="Decide">The events a command produces in a state; empty when there is nothing to do.</param>
public sealed record Decider<TCommand, TEvent, TState>(
    TState Initial,
    Func<TState, TEvent, TState> Evolve,
    Func<TCommand, TState, IReadOnlyList<TEvent>> Decide)
{
    /// <summary>Folds <paramref name="events"/> over <see cref="Initial"/>.</summary>
    public TState Fold(IEnumerable<TEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        var state = Initial;
        foreach (var @event in events)
        {
            state = Evolve(state, @event);
        }

        return state;
    }
}
