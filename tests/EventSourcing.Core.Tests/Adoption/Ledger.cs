using EventSourcing.Commands;
using EventSourcing.Deciders;
using EventSourcing.Events;
using EventSourcing.Privacy;
using FluentValidation;

namespace EventSourcing.Core.Tests.Adoption;

// A ledger as an application writes one with routes: no handler class, events named where they are declared.
public abstract record LedgerCommand(string LedgerId) : IDeciderCommand, IIdempotentCommand
{
    public Guid CommandId { get; init; }
}

public sealed record OpenLedger(string LedgerId, [property: DataSubject] Guid OwnerId, [property: PersonalData] string OwnerName) : LedgerCommand(LedgerId);

public sealed record Deposit(string LedgerId, int Amount, [property: IdempotencyIgnore] DateTimeOffset ReceivedAt) : LedgerCommand(LedgerId);

public sealed record CloseLedger(string LedgerId) : LedgerCommand(LedgerId), IVersionedCommand
{
    public long? ExpectedVersion { get; init; }
}

/// <summary>Routed on its own type, not its base's.</summary>
public sealed record Audit(string AuditedLedger) : LedgerCommand("unused");

/// <summary>A command of the decider's type that has no route.</summary>
public sealed record Unrouted(string Id) : IDeciderCommand;

public abstract record LedgerEvent;

[EventType("ledger-opened.v1")]
public sealed record LedgerOpened([property: DataSubject] Guid OwnerId, [property: PersonalData] string OwnerName) : LedgerEvent;

[EventType("ledger-deposited.v2", "ledger-deposited.v1")]
public sealed record Deposited(int Amount, int Balance, DateTimeOffset At) : LedgerEvent;

[EventType("ledger-closed.v1")]
public sealed record LedgerClosed(int Balance) : LedgerEvent;

[EventType("ledger-audited.v1")]
public sealed record LedgerAudited : LedgerEvent;

public sealed record Ledger(bool Opened, int Balance, bool Closed);

public static class LedgerDecider
{
    public static readonly Decider<LedgerCommand, LedgerEvent, Ledger> Decider = new(new Ledger(false, 0, false), Evolve, Decide);

    public static string StreamOf(string ledgerId) => $"ledger-{ledgerId}";

    public static LedgerEvent[] Decide(LedgerCommand command, Ledger state) => command switch
    {
        OpenLedger c when !state.Opened => [new LedgerOpened(c.OwnerId, c.OwnerName)],
        OpenLedger => [],
        Deposit c when state.Closed => throw new DomainException($"Ledger {c.LedgerId} is closed."),
        Deposit c => [new Deposited(c.Amount, state.Balance + c.Amount, c.ReceivedAt)],
        CloseLedger when state.Closed => [],
        CloseLedger => [new LedgerClosed(state.Balance)],
        Audit => [new LedgerAudited()],
        _ => throw new DomainException($"Unknown command {command.GetType().Name}."),
    };

    public static Ledger Evolve(Ledger state, LedgerEvent @event) => @event switch
    {
        LedgerOpened => state with { Opened = true },
        Deposited e => state with { Balance = e.Balance },
        LedgerClosed => state with { Closed = true },
        _ => state,
    };
}

public sealed class DepositValidator : AbstractValidator<Deposit>
{
    public DepositValidator() => RuleFor(c => c.Amount).InclusiveBetween(1, 1_000);
}
