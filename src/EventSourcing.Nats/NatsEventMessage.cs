using System.Globalization;
using EventSourcing.Forwarding;
using NATS.Client.Core;

namespace EventSourcing.Nats;

/// <summary>One event as a JetStream message: its subject, headers and body.</summary>
internal sealed record NatsEventMessage(Guid EventId, string Subject, NatsHeaders Headers, ReadOnlyMemory<byte> Body)
{
    public const string MessageIdHeader = "Nats-Msg-Id";

    public static NatsEventMessage From(ForwardedEvent @event, string subjectPrefix)
    {
        ArgumentNullException.ThrowIfNull(@event);
        var headers = new NatsHeaders
        {
            [MessageIdHeader] = @event.EventId.ToString("D"),
            [NatsEventHeaders.EventType] = Checked(NatsEventHeaders.EventType, @event.EventType),
            [NatsEventHeaders.Position] = @event.Position.ToString(CultureInfo.InvariantCulture),
            [NatsEventHeaders.StreamId] = Checked(NatsEventHeaders.StreamId, @event.StreamId),
            [NatsEventHeaders.StreamVersion] = @event.StreamVersion.ToString(CultureInfo.InvariantCulture),
            [NatsEventHeaders.Timestamp] = @event.Timestamp.ToString("O", CultureInfo.InvariantCulture),
            [NatsEventHeaders.ContentType] = "application/json",
        };
        var metadata = @event.Metadata ?? Events.EventMetadata.Empty;
        Add(headers, NatsEventHeaders.CorrelationId, metadata.CorrelationId);
        Add(headers, NatsEventHeaders.CausationId, metadata.CausationId);
        Add(headers, NatsEventHeaders.CommandId, metadata.CommandId?.ToString("D"));
        Add(headers, NatsEventHeaders.TraceParent, metadata.TraceParent);
        return new NatsEventMessage(@event.EventId, NatsSubjects.For(subjectPrefix, @event.StreamId), headers, @event.Data);
    }

    private static void Add(NatsHeaders headers, string name, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            headers[name] = Checked(name, value);
        }
    }

    /// <summary>A header value is one line: a control character (a line break) cannot be sent in one.</summary>
    private static string Checked(string name, string value) =>
        value.Any(char.IsControl)
            ? throw new ArgumentException($"The value of the header {name} holds a control character, which a NATS header cannot carry: '{value}'.", nameof(value))
            : value;
}
