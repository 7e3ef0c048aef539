using EventSourcing.Events;

namespace EventSourcing.Forwarding;

/// <summary>
/// Where a forwarder sends the log's events: a log-based broker (NATS JetStream first; Kafka and others implement the
/// same contract, and pass <c>EventTransportContract</c> of <c>EventSourcing.Testing.Contracts</c>).
/// </summary>
/// <remarks>
/// The forwarder hands a transport events in log order and moves its checkpoint only past events the transport has
/// acknowledged. So a transport promises: <see cref="PublishAsync"/> returns only once the broker has durably stored
/// every event given (acknowledged means stored); events of one stream reach the broker's log in the order given; and
/// an event sent again (after a crash between the broker's acknowledgement and the checkpoint) is recognised by its
/// <see cref="ForwardedEvent.EventId"/> and not stored twice. A failure throws; the forwarder then sends again from the
/// first event not acknowledged.
/// </remarks>
public interface IEventTransport
{
    /// <summary>The transport's name, for logs and status (for example <c>nats</c>).</summary>
    string Name { get; }

    /// <summary>
    /// Publishes <paramref name="events"/>, in order, and returns once the broker has acknowledged every one of them.
    /// </summary>
    /// <exception cref="EventTransportUnavailableException">The broker cannot be reached or did not acknowledge in time; nothing is known of what it stored.</exception>
    ValueTask PublishAsync(IReadOnlyList<ForwardedEvent> events, CancellationToken cancellationToken = default);
}

/// <summary>One event of the log as a forwarder hands it to a transport.</summary>
/// <param name="EventId">The event's id: the broker's key for dropping a duplicate.</param>
/// <param name="StreamId">The stream it belongs to (a transport derives its subject or partition from it, keeping order per stream).</param>
/// <param name="StreamVersion">Its version in the stream.</param>
/// <param name="Position">Its position in the log.</param>
/// <param name="EventType">Its stored type name.</param>
/// <param name="Data">Its JSON; personal values sealed (ciphertext) unless the forwarder is told to redact them.</param>
/// <param name="Metadata">Its metadata: command, correlation, causation, user, <c>traceparent</c>.</param>
/// <param name="Timestamp">When it was stored.</param>
public sealed record ForwardedEvent(
    Guid EventId,
    string StreamId,
    long StreamVersion,
    long Position,
    string EventType,
    ReadOnlyMemory<byte> Data,
    EventMetadata Metadata,
    DateTimeOffset Timestamp);

/// <summary>The broker cannot be reached, or did not acknowledge in time: the forwarder waits and sends again.</summary>
public sealed class EventTransportUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public EventTransportUnavailableException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public EventTransportUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public EventTransportUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
