namespace EventSourcing.Nats;

/// <summary>
/// The headers <see cref="NatsJetStreamTransport"/> gives each message, beside <c>Nats-Msg-Id</c> (the event id). Values are
/// UTF-8 text; those of metadata are sent only when set.
/// </summary>
public static class NatsEventHeaders
{
    /// <summary>The event's stored type name, for example <c>tally-increased.v1</c>.</summary>
    public const string EventType = "es-event-type";

    /// <summary>The event's position in the log (decimal).</summary>
    public const string Position = "es-position";

    /// <summary>The event's stream id, as it is (the subject holds it encoded).</summary>
    public const string StreamId = "es-stream-id";

    /// <summary>The event's version in its stream (decimal).</summary>
    public const string StreamVersion = "es-stream-version";

    /// <summary>When the event was stored (ISO 8601, round-trip format).</summary>
    public const string Timestamp = "es-timestamp";

    /// <summary>The metadata's correlation id, when set.</summary>
    public const string CorrelationId = "es-correlation-id";

    /// <summary>The metadata's causation id, when set.</summary>
    public const string CausationId = "es-causation-id";

    /// <summary>The id of the command that produced the event, when set.</summary>
    public const string CommandId = "es-command-id";

    /// <summary>The W3C trace context of the span that wrote the event, when recorded.</summary>
    public const string TraceParent = "traceparent";

    /// <summary>The body's media type: always <c>application/json</c>.</summary>
    public const string ContentType = "Content-Type";
}
