using EventSourcing.Commands;
using EventSourcing.Deciders;
using EventSourcing.Events;
using FluentValidation;
using Mediator;

namespace EventSourcing.Tests.Shared.Domain;

// A small domain for the tests: a tally that counts up until it is closed. Its commands are sent with ICommandSender
// (routed by TallyId), and AddToTally also through a Mediator handler of its own (Members.cs), as an application may.
public abstract record TallyCommand(string TallyId) : IDeciderCommand;

public sealed record AddToTally(string TallyId, int Amount, string Note, Guid CommandId = default)
    : TallyCommand(TallyId), ICommand<CommandResult>, IIdempotentCommand;

public sealed record CloseTally(string TallyId) : TallyCommand(TallyId);

public abstract record TallyEvent;

[EventType("tally-increased.v1")]
public sealed record TallyIncreased(int Amount, int Total) : TallyEvent;

[EventType("tally-closed.v1")]
public sealed record TallyClosed(int Total) : TallyEvent;

public abstract record Tally
{
    public sealed record Open(int Total) : Tally;

    public sealed record Closed(int Total) : Tally;
}

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

    public static EventSourcing.Events.EventTypeRegistry Register(EventSourcing.Events.EventTypeRegistry registry) => registry
        .Register<TallyIncreased>("tally-increased.v1")
        .Register<TallyClosed>("tally-closed.v1");
}

public sealed class AddToTallyValidator : AbstractValidator<AddToTally>
{
    public AddToTallyValidator()
    {
        RuleFor(c => c.TallyId).NotEmpty();
        RuleFor(c => c.Amount).InclusiveBetween(1, 100);
    }
}

public sealed class AddToTallyNoteValidator : AbstractValidator<AddToTally>
{
    public AddToTallyNoteValidator()
    {
        RuleFor(c => c.Note).NotEmpty().MaximumLength(20);
        RuleFor(c => c.Amount).NotEqual(13).WithMessage("13 is unlucky.");
    }
}

/// <summary>The application's handler: routes the command to its stream through the decider handler.</summary>
public sealed class AddToTallyHandler(DeciderHandler<TallyCommand, TallyEvent, Tally> handler, HandlerCalls calls)
    : ICommandHandler<AddToTally, CommandResult>
{
    public async ValueTask<CommandResult> Handle(AddToTally command, CancellationToken cancellationToken)
    {
        calls.Increment();
        return await handler.HandleAsync($"tally-{command.TallyId}", command, cancellationToken);
    }
}

public sealed class HandlerCalls
{
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public void Increment() => Interlocked.Increment(ref _count);
}
