using System.Globalization;
using EventSourcing.Events;
using NATS.Client.Core;

namespace EventSourcing.Nats;

/// <summary>
/// One event as a <see cref="NatsEventConsumer"/> receives it from JetStream: the fields the transport sent as headers,
/// the body as stored (personal values sealed), and where JetStream holds it.
/// </summary>
/// <param name="EventId">The event's id (the message's <c>Nats-Msg-Id</c>): the key that makes handling idempotent.</param>
/// <param name="StreamId">The stream it belongs to.</param>
/// <param name="StreamVersion">Its version in the stream.</param>
/// <param name="Position">Its position in the log.</param>
/// <param name="EventType">Its stored type name, for example <c>reservation-confirmed.v1</c>.</param>
/// <param name="Data">Its JSON, as stored: personal values sealed. <see cref="TrustedEventReader"/> reads it as the library's event.</param>
/// <param name="Metadata">Its metadata from the headers: command, correlation, causation, <c>traceparent</c> (the user does not travel).</param>
/// <param name="Timestamp">When it was stored in the log.</param>
/// <param name="Sequence">Its sequence in the JetStream stream.</param>
/// <param name="Delivery">Which delivery this is: 1 the first time, more when JetStream delivers it again.</param>
public sealed record ReceivedEvent(
    Guid EventId,
    string StreamId,
    long StreamVersion,
    long Position,
    string EventType,
    ReadOnlyMemory<byte> Data,
    EventMetadata Metadata,
    DateTimeOffset Timestamp,
    ulong Sequence,
    int Delivery)
{
    /// <summary>Rebuilds the event from a message's headers and body.</summary>
    /// <exception cref="FormatException">A header the transport always sends is missing or malformed.</exception>
    internal static ReceivedEvent From(NatsHeaders? headers, ReadOnlyMemory<byte> body, ulong sequence, int delivery)
    {
        string? Header(string name) => headers is not null && headers.TryGetValue(name, out var value) ? value.ToString() : null;
        string Required(string name) => Header(name) ?? throw new FormatException($"The message at sequence {sequence} lacks the header {name}: it was not published by the event transport.");
        return new ReceivedEvent(
            Guid.Parse(Required(NatsEventMessage.MessageIdHeader), CultureInfo.InvariantCulture),
            Required(NatsEventHeaders.StreamId),
            long.Parse(Required(NatsEventHeaders.StreamVersion), NumberStyles.Integer, CultureInfo.InvariantCulture),
            long.Parse(Required(NatsEventHeaders.Position), NumberStyles.Integer, CultureInfo.InvariantCulture),
            Required(NatsEventHeaders.EventType),
            body,
            new EventMetadata
            {
                CommandId = Header(NatsEventHeaders.CommandId) is { } command ? Guid.Parse(command, CultureInfo.InvariantCulture) : null,
                CorrelationId = Header(NatsEventHeaders.CorrelationId),
                CausationId = Header(NatsEventHeaders.CausationId),
                TraceParent = Header(NatsEventHeaders.TraceParent),
            },
            DateTimeOffset.Parse(Required(NatsEventHeaders.Timestamp), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind),
            sequence,
            delivery);
    }
}
