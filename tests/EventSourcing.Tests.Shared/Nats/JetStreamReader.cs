using System.Globalization;
using EventSourcing.Events;
using EventSourcing.Forwarding;
using EventSourcing.Nats;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace EventSourcing.Tests.Shared.Nats;

/// <summary>Reads back a JetStream stream as a consumer would: an ordered consumer over its subjects, rebuilt into events.</summary>
public static class JetStreamReader
{
    /// <summary>Every message the stream holds, in the stream's order, rebuilt into the events the transport published.</summary>
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

    /// <summary>How many messages the stream holds (0 when it does not exist yet).</summary>
    public static async Task<long> CountAsync(string url, string streamName, CancellationToken cancellationToken)
    {
        await using var connection = new NatsConnection(new NatsOpts { Url = url });
        try
        {
            var stream = await new NatsJSContext(connection).GetStreamAsync(streamName, cancellationToken: cancellationToken);
            return (long)stream.Info.State.Messages;
        }
        catch (NatsJSApiException exception) when (exception.Error.Code == 404)
        {
            return 0;
        }
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
