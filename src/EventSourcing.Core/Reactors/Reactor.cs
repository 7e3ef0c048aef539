using EventSourcing.Events;

namespace EventSourcing.Reactors;

/// <summary>
/// Reacts to events with new commands (a process manager): for example a placed reservation becomes a request to hold
/// seats. Reactors follow the log from a checkpoint, in log order, at least once: an event may be handled again after a
/// crash, so every command a reactor sends must carry an id derived from the event (<see cref="CommandIdFor"/>), which
/// makes the repeat a no-op. On a store shared by several processes each reactor runs in one of them at a time
/// (<see cref="ILeaderElection"/>). See docs/reactors.md.
/// </summary>
public abstract class Reactor
{
    /// <summary>The reactor's stable name (its checkpoint is kept under it).</summary>
    public abstract string Name { get; }

    /// <summary>
    /// The event types it handles (and their subtypes): only events stored under their names (aliases and upcast names
    /// included) are read, and the store filters them where they are kept. Null, by default: every event.
    /// </summary>
    public virtual IReadOnlyCollection<Type>? EventTypes => null;

    /// <summary>Handles one event; throw to have it retried.</summary>
    public abstract Task ReactAsync(EventEnvelope envelope, CancellationToken cancellationToken);

    /// <summary>
    /// The name the reactor named <paramref name="reactorName"/> keeps its checkpoint and dead letters under in the
    /// projection store (<c>reactor:{name}</c>), for tools that read them.
    /// </summary>
    public static string CheckpointNameOf(string reactorName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reactorName);
        return $"reactor:{reactorName}";
    }

    /// <summary>A command id derived from the event and a purpose: the same event always gives the same id.</summary>
    protected Guid CommandIdFor(EventEnvelope envelope, string purpose)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        return EventIds.FromName($"{Name}\n{purpose}\n{envelope.EventId:N}");
    }
}
