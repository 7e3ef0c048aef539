using EventSourcing.Deciders;
using EventSourcing.Testing.Contracts.Domain;
using FluentValidation;
using Mediator;

namespace EventSourcing.Tests.Shared.Domain;

// The Tally domain's command pipeline as an application would write it: validators and a Mediator handler of its own.

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
