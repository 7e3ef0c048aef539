using EventSourcing.Commands;
using EventSourcing.Deciders;
using EventSourcing.Events;
using Mediator;

namespace EventSourcing.Testing.Contracts.Domain;

/// <summary>
/// A command to the tally decider: a small domain of a tally that counts up until it is closed. Commands are sent with
/// <see cref="ICommandSender"/>, routed by <see cref="TallyId"/>; <see cref="AddToTally"/> is also a Mediator command, for
/// applications with a handler of their own.
/// </summary>
public abstract record TallyCommand(string TallyId) : IDeciderCommand;

/// <summary>Adds <c>Amount</c> to an open tally.</summary>
public sealed record AddToTally(string TallyId, int Amount, string Note, Guid CommandId = default)
    : TallyCommand(TallyId), ICommand<CommandResult>, IIdempotentCommand;

/// <summary>Closes a tally; closing a closed one changes nothing.</summary>
public sealed record CloseTally(string TallyId) : TallyCommand(TallyId);

/// <summary>The events of the tally decider.</summary>
public abstract record TallyEvent;

/// <summary>A tally went up by <c>Amount</c> to <c>Total</c>.</summary>
[EventType("tally-increased.v1")]
public sealed record TallyIncreased(int Amount, int Total) : TallyEvent;

/// <summary>A tally closed at <c>Total</c>.</summary>
[EventType("tally-closed.v1")]
public sealed record TallyClosed(int Total) : TallyEvent;

/// <summary>A tally's state: open or closed.</summary>
public abstract record Tally
{
    /// <summary>Open, at <c>Total</c>.</summary>
    public sealed record Open(int Total) : Tally;

    /// <summary>Closed, at <c>Total</c>.</summary>
    public sealed record Closed(int Total) : Tally;
}

/// <summary>The tally decider.</summary>
public static class TallyDecider
{
    /// <summary>The decider, from an open tally at 0.</summary>
    public static readonly Decider<TallyCommand, TallyEvent, Tally> Decider = new(new Tally.Open(0), Evolve, Decide);

    /// <summary>Adds to an open tally and closes it; closing twice decides nothing; anything else is a <see cref="DomainException"/>.</summary>
    public static TallyEvent[] Decide(TallyCommand command, Tally state) => (command, state) switch
    {
        (AddToTally c, Tally.Open s) => [new TallyIncreased(c.Amount, s.Total + c.Amount)],
        (CloseTally, Tally.Open s) => [new TallyClosed(s.Total)],
        (CloseTally, Tally.Closed) => [],
        _ => throw new DomainException($"Cannot {command.GetType().Name} a {state.GetType().Name} tally."),
    };

    /// <summary>Folds an event into the state.</summary>
    public static Tally Evolve(Tally state, TallyEvent @event) => (state, @event) switch
    {
        (Tally.Open, TallyIncreased e) => new Tally.Open(e.Total),
        (Tally.Open, TallyClosed e) => new Tally.Closed(e.Total),
        _ => state,
    };

    /// <summary>Names the tally events in <paramref name="registry"/>, and returns it.</summary>
    public static EventSourcing.Events.EventTypeRegistry Register(EventSourcing.Events.EventTypeRegistry registry) => registry
        .Register<TallyIncreased>("tally-increased.v1")
        .Register<TallyClosed>("tally-closed.v1");
}
