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
    Task<AppendResult> AppendAsync(string streamId, ExpectedVersion expectedVersion, IReadOnlyList<object> events, EventMetadata metadata, CancellationToken cancellationToken = default);
}

/// <summary>Reads streams and the global log.</summary>
public interface IEventReader
{
    /// <summary>The events of <paramref name="streamId"/> from version <paramref name="fromVersion"/> (inclusive; 1 is the first), in order. Empty for a stream that does not exist.</summary>
    /// <exception cref="UnknownEventTypeException">An event's stored type name is not registered.</exception>
    /// <exception cref="EventDeserializationException">An event's data does not fit its type.</exception>
    IAsyncEnumerable<EventEnvelope> ReadStreamAsync(string streamId, long fromVersion, CancellationToken cancellationToken = default);

    /// <summary>
    /// The whole log from <paramref name="fromPosition"/> (inclusive) up to the head as of the call, in position order.
    /// Never returns an event past a position that a transaction still in flight may yet fill. An event that cannot be
    /// read as its type comes as an <see cref="UnreadableEvent"/>, in its place.
    /// </summary>
    IAsyncEnumerable<EventEnvelope> ReadAllAsync(long fromPosition, CancellationToken cancellationToken = default);

    /// <summary>
    /// Follows the log live from <paramref name="fromPosition"/> (inclusive): yields what is stored, then waits for
    /// each next append. Ends only when <paramref name="cancellationToken"/> is cancelled. An event that cannot be read
    /// as its type comes as an <see cref="UnreadableEvent"/>, in its place.
    /// </summary>
    async IAsyncEnumerable<EventEnvelope> SubscribeAllAsync(long fromPosition, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var page in FollowAsync(fromPosition, null, cancellationToken).ConfigureAwait(false))
        {
            foreach (var envelope in page.Events)
            {
                yield return envelope;
            }
        }
    }

    /// <summary>
    /// Follows the log live from <paramref name="fromPosition"/> (inclusive) in pages, reading only events stored under
    /// <paramref name="eventTypes"/> (every event when null; the store filters them where they are kept). Each page holds
    /// the matching events up to its <see cref="LogPage.Through"/> position, in order, so a follower knows how far it has
    /// come even when nothing matched; the page with <see cref="LogPage.CaughtUp"/> is the last before the store waits for
    /// the next append. As <see cref="ReadAllAsync"/>, it never passes a position a transaction in flight may still fill.
    /// Ends only when <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    IAsyncEnumerable<LogPage> FollowAsync(long fromPosition, IReadOnlySet<string>? eventTypes, CancellationToken cancellationToken = default);

    /// <summary>The position of the last event in the log that readers can see (0 for an empty log).</summary>
    Task<long> ReadHeadPositionAsync(CancellationToken cancellationToken = default);
}

/// <summary>A page of the log, as a follower reads it.</summary>
/// <param name="Events">The events of the page (only those of the types asked for), in position order.</param>
/// <param name="Through">The position the page reaches: every event up to it that matches has been given.</param>
/// <param name="CaughtUp">Whether the page reaches the head of the log as it was when read (the store waits after it).</param>
public sealed record LogPage(IReadOnlyList<EventEnvelope> Events, long Through, bool CaughtUp);

/// <summary>An event store: streams of immutable events in one global order.</summary>
public interface IEventStore : IEventReader, IEventWriter;
