using System.Globalization;
using EventSourcing.Events;
using EventSourcing.Forwarding;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace EventSourcing.Nats.Tests;

/// <summary>Reads back a JetStream stream as a consumer would: an ordered consumer over its subjects, rebuilt into events.</summary>
internal static class JetStreamReader
{
    public static async Task<IReadOnlyList<ForwardedEvent>> ReadAllAsync(string url, string streamName, CancellationToken cancellationToken)
    {
        await using var connection = new NatsConnection(new NatsOpts { Url = url, HeaderEncoding = System.Text.Encoding.UTF8 });
        var jetStream = new NatsJSContext(connection);
        INatsJSStream stream;
        try
        {
            stream = await jetStream.GetStreamAsync(streamName, cancellationToken: cancellationToken);
        }
        catch (NatsJSApiException exception) when (exception.Error.Code == 404)
        {
            return [];   // nothing was ever published
        }

        var count = (long)stream.Info.State.Messages;
        var events = new List<ForwardedEvent>();
        if (count == 0)
        {
            return events;
        }

        var consumer = await jetStream.CreateOrderedConsumerAsync(streamName, cancellationToken: cancellationToken);
        await foreach (var message in consumer.ConsumeAsync<byte[]>(NatsRawSerializer<byte[]>.Default, cancellationToken: cancellationToken))
        {
            events.Add(ToEvent(message.Headers!, message.Data ?? []));
            if (events.Count == count)
            {
                break;
            }
        }

        return events;
    }

    private static ForwardedEvent ToEvent(NatsHeaders headers, byte[] data)
    {
        string? Header(string name) => headers.TryGetValue(name, out var value) ? value.ToString() : null;
        string Required(string name) => Header(name) ?? throw new InvalidOperationException($"A message lacks the header {name}.");
        return new ForwardedEvent(
            Guid.Parse(Required("Nats-Msg-Id")),
            Required(NatsEventHeaders.StreamId),
            long.Parse(Required(NatsEventHeaders.StreamVersion), CultureInfo.InvariantCulture),
            long.Parse(Required(NatsEventHeaders.Position), CultureInfo.InvariantCulture),
            Required(NatsEventHeaders.EventType),
            data,
            new EventMetadata
            {
                CommandId = Header(NatsEventHeaders.CommandId) is { } command ? Guid.Parse(command) : null,
                CorrelationId = Header(NatsEventHeaders.CorrelationId),
                CausationId = Header(NatsEventHeaders.CausationId),
                TraceParent = Header(NatsEventHeaders.TraceParent),
            },
            DateTimeOffset.Parse(Required(NatsEventHeaders.Timestamp), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind));
    }
}
