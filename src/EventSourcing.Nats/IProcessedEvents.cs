using System.Collections.Concurrent;

namespace EventSourcing.Nats;

/// <summary>
/// The ids of the events a consumer has handled, so that an event delivered again (its acknowledgement lost, the consumer
/// stopped between handling and acknowledging) is acknowledged without being handled twice.
/// </summary>
/// <remarks>
/// <see cref="InMemoryProcessedEvents"/> forgets everything when the process stops. A consumer with side effects keeps
/// the ids durably, next to its own data, and best in the same transaction as the effect: then an event is handled once
/// however the process ends.
/// </remarks>
public interface IProcessedEvents
{
    /// <summary>Whether the event was handled.</summary>
    /// <param name="eventId">The event's id.</param>
    /// <param name="cancellationToken">Cancels the look-up.</param>
    /// <returns><see langword="true"/> when the event was handled before.</returns>
    ValueTask<bool> ContainsAsync(Guid eventId, CancellationToken cancellationToken);

    /// <summary>Records that the event was handled; called after the handler returns, before the acknowledgement.</summary>
    /// <param name="eventId">The event's id.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes once the id is recorded.</returns>
    ValueTask AddAsync(Guid eventId, CancellationToken cancellationToken);
}

/// <summary>
/// The default <see cref="IProcessedEvents"/>: the ids of the last <see cref="Capacity"/> events handled, in memory, lost
/// when the process stops.
/// </summary>
public sealed class InMemoryProcessedEvents : IProcessedEvents
{
    private readonly ConcurrentDictionary<Guid, byte> _ids = new();
    private readonly ConcurrentQueue<Guid> _order = new();

    /// <summary>Creates the store.</summary>
    /// <param name="capacity">How many ids it keeps; the oldest go first. Default 100,000.</param>
    public InMemoryProcessedEvents(int capacity = 100_000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
    }

    /// <summary>How many ids it keeps.</summary>
    public int Capacity { get; }

    /// <inheritdoc />
    public ValueTask<bool> ContainsAsync(Guid eventId, CancellationToken cancellationToken) => ValueTask.FromResult(_ids.ContainsKey(eventId));

    /// <inheritdoc />
    public ValueTask AddAsync(Guid eventId, CancellationToken cancellationToken)
    {
        if (_ids.TryAdd(eventId, 0))
        {
            _order.Enqueue(eventId);
            while (_ids.Count > Capacity && _order.TryDequeue(out var oldest))
            {
                _ids.TryRemove(oldest, out _);
            }
        }

        return ValueTask.CompletedTask;
    }
}
