using System.Security.Cryptography;
using System.Text;
using EventSourcing.Commands;
using EventSourcing.Deciders;
using EventSourcing.Events;
using EventSourcing.Privacy;

namespace EventSourcing.Docs.Tests.Snippets.Architecture;

// docs/architecture.md, "Contracts": deciders, projections, reactors, keys and idempotency as the doc shows them,
// declared beside the real ones; ContractTests checks each member against them.
public sealed record Decider<TCommand, TEvent, TState>(
    TState Initial, Func<TState, TEvent, TState> Evolve, Func<TCommand, TState, IReadOnlyList<TEvent>> Decide)
{
    public TState Fold(IEnumerable<TEvent> events) => events.Aggregate(Initial, Evolve);
}

public interface ICommandSender
{
    Task<CommandResult> SendAsync(IDeciderCommand command, CancellationToken cancellationToken = default);
    Task<CommandResult> SendAsync(IDeciderCommand command, EventMetadata metadata, CancellationToken cancellationToken = default);
}

public abstract class Projection<TView> : IProjection where TView : class
{
    public abstract string Name { get; }
    public virtual int Version => 1;
    public abstract IEnumerable<string> ViewIds(EventEnvelope envelope);
    public abstract TView? Evolve(string id, TView? view, EventEnvelope envelope);
}

public abstract class Reactor
{
    public abstract string Name { get; }
    public virtual IReadOnlyCollection<Type>? EventTypes => null;
    public abstract Task ReactAsync(EventEnvelope envelope, CancellationToken cancellationToken);
    protected Guid CommandIdFor(EventEnvelope envelope, string purpose)    // the same event and purpose, the same id
    {
        return EventIds.FromName($"{Name}\n{purpose}\n{envelope.EventId:N}");   // SHA-256 as a version 8 UUID
    }
}

public interface IKeyStore
{
    Task<byte[]?> FindAsync(string subjectId, CancellationToken cancellationToken = default);
    byte[]? Find(string subjectId);
    Task<byte[]> GetOrCreateAsync(string subjectId, CancellationToken cancellationToken = default);
    byte[] GetOrCreate(string subjectId);
    Task<bool> DeleteAsync(string subjectId, CancellationToken cancellationToken = default);
    Task<int> RewrapAsync(MasterKey newMasterKey, CancellationToken cancellationToken = default);
}

public interface IIdempotencyStore
{
    Task<IdempotencyClaim> ClaimAsync(IdempotencyRecord request, CancellationToken cancellationToken);
}

/// <summary>What the doc's Projection derives from; the real one's members are left out of the doc.</summary>
public interface IProjection;
