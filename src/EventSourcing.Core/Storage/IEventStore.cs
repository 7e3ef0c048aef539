using EventSourcing.Events;

namespace EventSourcing.Storage;

/// <summary>Writes events to streams, with optimistic concurrency.</summary>
public interface IEventWriter
{
    /// <summary>
    /// Appends <paramref name="events"/> to <paramref name="streamId"/> atomically, if the stream is at <paramref name="expectedVersion"/>.
    /// When <see cref="EventMetadata.CommandId"/> is set the event ids derive from it (<see cref="EventIds.FromCommand"/>)
    /// and a repeat of an already stored append returns the first result with <see cref="AppendResult.AlreadyApplied"/> set.
    /// </summary>
    /// <exception cref="ArgumentException">The stream id is empty, or there is no event, or an event is null.</exception>
    /// <exception cref="UnknownEventTypeException">An event's type is not registered.</exception>
    /// <exception cref="ConcurrencyException">The stream is not at the expected version.</exception>
    Task<AppendResult> AppendAsync(string streamId, ExpectedVersion expectedVersion, IReadOnlyList<object> events, EventMetadata metadata, CancellationToken cancellationToken);
}

/// <summary>Reads streams and the global log.</summary>
public interface IEventReader
{
    /// <summary>The events of <paramref name="streamId"/> from version <paramref name="fromVersion"/> (inclusive; 1 is the first), in order. Empty for a stream that does not exist.</summary>
    /// <exception cref="UnknownEventTypeException">An event's stored type name is not registered.</exception>
    /// <exception cref="EventDeserializationException">An event's data does not fit its type.</exception>
    IAsyncEnumerable<EventEnvelope> ReadStreamAsync(string streamId, long fromVersion, CancellationToken cancellationToken);

    /// <summary>
    /// The whole log from <paramref name="fromPosition"/> (inclusive) up to the head as of the call, in position order.
    /// Never returns an event past a position that a transaction still in flight may yet fill. An event that cannot be
    /// read as its type comes as an <see cref="UnreadableEvent"/>, in its place.
    /// </summary>
    IAsyncEnumerable<EventEnvelope> ReadAllAsync(long fromPosition, CancellationToken cancellationToken);

    /// <summary>
    /// Follows the log live from <paramref name="fromPosition"/> (inclusive): yields what is stored, then waits for
    /// each next append. Ends only when <paramref name="cancellationToken"/> is cancelled. An event that cannot be read
    /// as its type comes as an <see cref="UnreadableEvent"/>, in its place.
    /// </summary>
    IAsyncEnumerable<EventEnvelope> SubscribeAllAsync(long fromPosition, CancellationToken cancellationToken);

    /// <summary>The position of the last event in the log that readers can see (0 for an empty log).</summary>
    Task<long> ReadHeadPositionAsync(CancellationToken cancellationToken);
}

/// <summary>An event store: streams of immutable events in one global order.</summary>
public interface IEventStore : IEventReader, IEventWriter;
