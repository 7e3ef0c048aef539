using EventSourcing.Deciders;
using EventSourcing.Testing.Contracts.Domain;

namespace EventSourcing.Docs.Tests.Snippets.Readme;

// README.md, "A decider": the test suite's decider, over the Tally commands, events and states of
// src/EventSourcing.Testing.Contracts/Domain/Tally.cs.
public static class TallyDecider
{
    public static readonly Decider<TallyCommand, TallyEvent, Tally> Decider = new(new Tally.Open(0), Evolve, Decide);

    public static TallyEvent[] Decide(TallyCommand command, Tally state) => (command, state) switch
    {
        (AddToTally c, Tally.Open s) => [new TallyIncreased(c.Amount, s.Total + c.Amount)],
        (CloseTally, Tally.Open s) => [new TallyClosed(s.Total)],
        (CloseTally, Tally.Closed) => [],
        _ => throw new DomainException($"Cannot {command.GetType().Name} a {state.GetType().Name} tally."),
    };

    public static Tally Evolve(Tally state, TallyEvent @event) => (state, @event) switch
    {
        (Tally.Open, TallyIncreased e) => new Tally.Open(e.Total),
        (Tally.Open, TallyClosed e) => new Tally.Closed(e.Total),
        _ => state,
    };
}
