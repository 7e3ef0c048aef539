namespace EventSourcing.Events;

/// <summary>An event as stored: immutable, with its place in its stream and in the whole log.</summary>
/// <param name="EventId">The event's unique id.</param>
/// <param name="StreamId">The stream the event belongs to.</param>
/// <param name="StreamVersion">The event's version in its stream: the first event of a stream is version 1.</param>
/// <param name="Position">The event's position in the global log: gap-free from 1 in the in-memory store, increasing in every store.</param>
/// <param name="EventType">The registered, stable name of the event's type (after any upcasting).</param>
/// <param name="Data">The deserialized event.</param>
/// <param name="Metadata">Command, correlation, causation and user.</param>
/// <param name="Timestamp">When the store recorded the event.</param>
public sealed record EventEnvelope(
    Guid EventId,
    string StreamId,
    long StreamVersion,
    long Position,
    string EventType,
    object Data,
    EventMetadata Metadata,
    DateTimeOffset Timestamp)
{
    /// <summary>True when some personal data in the event was erased (its subject was forgotten) and reads as a placeholder.</summary>
    public bool PersonalDataErased { get; init; }
}
