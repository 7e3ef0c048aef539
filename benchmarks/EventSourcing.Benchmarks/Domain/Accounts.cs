using EventSourcing.Deciders;
using EventSourcing.Events;
using FluentValidation;
using Mediator;

namespace EventSourcing.Benchmarks.Domain;

// The benchmarks' domain: accounts that take deposits. One command, one event, a fold over the stream.
public sealed record Deposit(string AccountId, int Amount) : ICommand<CommandResult>;

public sealed record Deposited(int Amount, long Balance);

public sealed record AccountState(long Balance, int Deposits);

public static class AccountDecider
{
    public static readonly Decider<Deposit, Deposited, AccountState> Decider = new(new AccountState(0, 0), Evolve, Decide);

    public static string StreamOf(string accountId) => $"account-{accountId}";

    public static Deposited[] Decide(Deposit command, AccountState state) =>
        state.Balance + command.Amount > 1_000_000_000
            ? throw new DomainException("The balance would exceed the limit.")
            : [new Deposited(command.Amount, state.Balance + command.Amount)];

    public static AccountState Evolve(AccountState state, Deposited @event) => new(@event.Balance, state.Deposits + 1);

    public static EventTypeRegistry Register(EventTypeRegistry registry) => registry.Register<Deposited>("deposited.v1");
}

public sealed class DepositValidator : AbstractValidator<Deposit>
{
    public DepositValidator()
    {
        RuleFor(c => c.AccountId).NotEmpty().MaximumLength(64);
        RuleFor(c => c.Amount).InclusiveBetween(1, 10_000);
    }
}

public sealed class DepositHandler(DeciderHandler<Deposit, Deposited, AccountState> handler) : ICommandHandler<Deposit, CommandResult>
{
    public async ValueTask<CommandResult> Handle(Deposit command, CancellationToken cancellationToken) =>
        await handler.HandleAsync(AccountDecider.StreamOf(command.AccountId), command, cancellationToken).ConfigureAwait(false);
}

/// <summary>The same account as a Marten self-aggregating type, for the hand-written Marten baseline.</summary>
public sealed class MartenAccount
{
    public string Id { get; set; } = string.Empty;

    public long Balance { get; set; }

    public int Deposits { get; set; }

    public void Apply(Deposited @event)
    {
        ArgumentNullException.ThrowIfNull(@event);
        Balance = @event.Balance;
        Deposits++;
    }
}
