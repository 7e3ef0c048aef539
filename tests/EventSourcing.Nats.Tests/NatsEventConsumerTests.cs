using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using EventSourcing.Events;
using EventSourcing.Forwarding;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using EventSourcing.Tests.Shared.Waiting;

namespace EventSourcing.Nats.Tests;

/// <summary>
/// <see cref="NatsEventConsumer"/> on a real <c>nats-server</c>: events the transport published handled once and
/// acknowledged, retried after a failure, not handled twice when delivered again, resumed after the last
/// acknowledgement, started from a sequence or a time, and in order per stream.
/// </summary>
public sealed class NatsEventConsumerTests(NatsFixture nats)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Each_event_of_the_subject_and_types_is_handled_once_with_its_fields_and_acknowledged()
    {
        var (transport, options) = Publisher();
        await using var _ = transport;
        var order = "order-" + Guid.NewGuid().ToString("N")[..8];
        var events = new[]
        {
            Event(order, 1, "order-placed.v1", new EventMetadata { CorrelationId = "c-1", CausationId = "x-1", CommandId = Guid.NewGuid(), TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" }),
            Event(order, 2, "order-noted.v1"),
            Event("invoice-1", 1, "order-placed.v1"),   // another category
            Event(order, 3, "order-placed.v1"),
        };
        await transport.PublishAsync(events, Ct);

        var handled = new ConcurrentQueue<ReceivedEvent>();
        var consumer = Consumer(options, "order", Handler(handled), o => o.EventTypes = ["order-placed.v1"]);
        await RunUntilAsync(consumer, () => handled.Count >= 2);
        await WaitAcknowledgedAsync(options, consumer.Durable, 3);   // the noted event too: acknowledged, not handled

        Assert.Equal([events[0].EventId, events[3].EventId], handled.Select(e => e.EventId));
        var first = handled.First();
        Assert.Equal((order, 1L, events[0].Position, "order-placed.v1", 1UL, 1), (first.StreamId, first.StreamVersion, first.Position, first.EventType, first.Sequence, first.Delivery));
        Assert.Equal(events[0].Data.ToArray(), first.Data.ToArray());
        Assert.Equal(events[0].Metadata with { User = null }, first.Metadata);
        Assert.Equal(events[0].Timestamp, first.Timestamp);
    }

    [Fact]
    public async Task A_handler_that_fails_twice_sees_the_event_three_times_and_it_is_then_acknowledged()
    {
        var (transport, options) = Publisher();
        await using var _ = transport;
        var @event = Event("order-1", 1, "order-placed.v1");
        await transport.PublishAsync([@event], Ct);

        var deliveries = new ConcurrentQueue<int>();
        var consumer = Consumer(options, "order", (received, _) =>
        {
            deliveries.Enqueue(received.Delivery);
            return received.Delivery < 3 ? throw new InvalidOperationException("not yet") : Task.CompletedTask;
        });
        await RunUntilAsync(consumer, () => deliveries.Count >= 3);
        await WaitAcknowledgedAsync(options, consumer.Durable, 1);

        Assert.Equal([1, 2, 3], deliveries);
    }

    [Fact]
    public async Task An_event_that_fails_every_time_is_given_up_after_the_attempts_and_the_next_is_handled()
    {
        var (transport, options) = Publisher();
        await using var _ = transport;
        var poison = Event("order-1", 1, "order-placed.v1");
        var next = Event("order-1", 2, "order-placed.v1");
        await transport.PublishAsync([poison, next], Ct);

        var seen = new ConcurrentQueue<(Guid, int)>();
        var consumer = Consumer(options, "order", (received, _) =>
        {
            seen.Enqueue((received.EventId, received.Delivery));
            return received.EventId == poison.EventId ? throw new InvalidOperationException("poison") : Task.CompletedTask;
        }, o => o.MaxAttempts = 3);
        await RunUntilAsync(consumer, () => seen.Any(s => s.Item1 == next.EventId));
        await WaitAcknowledgedAsync(options, consumer.Durable, 2);

        Assert.Equal([(poison.EventId, 1), (poison.EventId, 2), (poison.EventId, 3), (next.EventId, 1)], seen);
    }

    [Fact]
    public async Task An_event_delivered_again_whose_id_was_processed_is_acknowledged_without_handling_it_again()
    {
        var (transport, options) = Publisher();
        await using var _ = transport;
        var @event = Event("order-1", 1, "order-placed.v1");
        var earlier = Event("order-2", 1, "order-placed.v1");
        await transport.PublishAsync([@event, earlier], Ct);

        // The id is recorded, then the acknowledgement is lost (the store fails once after recording): JetStream delivers it again.
        var processed = new LosingProcessedEvents(lose: @event.EventId);
        await processed.AddAsync(earlier.EventId, Ct);   // handled by an earlier run whose acknowledgement never arrived
        var handled = new ConcurrentQueue<ReceivedEvent>();
        var consumer = Consumer(options, "order", Handler(handled), processed: processed);
        await RunUntilAsync(consumer, () => processed.Lost && !handled.IsEmpty, then: () => WaitAcknowledgedAsync(options, consumer.Durable, 2));

        Assert.Equal([@event.EventId], handled.Select(e => e.EventId));
    }

    [Fact]
    public async Task A_durable_stopped_and_started_again_resumes_after_its_last_acknowledgement()
    {
        var (transport, options) = Publisher();
        await using var _ = transport;
        var first = Enumerable.Range(1, 5).Select(v => Event("order-1", v, "order-placed.v1")).ToArray();
        await transport.PublishAsync(first, Ct);
        var durable = "resume-" + Guid.NewGuid().ToString("N")[..8];

        var before = new ConcurrentQueue<ReceivedEvent>();
        await RunUntilAsync(Consumer(options, "order", Handler(before), durable: durable), () => before.Count >= 5, then: () => WaitAcknowledgedAsync(options, durable, 5)); // stopped after its last acknowledgement
        var second = Enumerable.Range(6, 5).Select(v => Event("order-1", v, "order-placed.v1")).ToArray();
        await transport.PublishAsync(second, Ct);   // while it is stopped
        var after = new ConcurrentQueue<ReceivedEvent>();
        await RunUntilAsync(Consumer(options, "order", Handler(after), durable: durable), () => after.Count >= 5, then: () => WaitAcknowledgedAsync(options, durable, 10));

        Assert.Equal(first.Select(e => e.EventId), before.Select(e => e.EventId));
        Assert.Equal(second.Select(e => e.EventId), after.Select(e => e.EventId));
    }

    [Fact]
    public async Task A_new_durable_starts_at_the_sequence_or_the_time_given()
    {
        var (transport, options) = Publisher();
        await using var _ = transport;
        var events = Enumerable.Range(1, 10).Select(v => Event("order-1", v, "order-placed.v1")).ToArray();
        await transport.PublishAsync(events[..5], Ct);
        await transport.PublishAsync(events[5..], Ct);
        var sixth = await StoredTimeAsync(options, 6);

        var fromSequence = new ConcurrentQueue<ReceivedEvent>();
        await RunUntilAsync(Consumer(options, "order", Handler(fromSequence), o => o.StartSequence = 4), () => fromSequence.Count >= 7);
        var fromTime = new ConcurrentQueue<ReceivedEvent>();
        await RunUntilAsync(Consumer(options, "order", Handler(fromTime), o => o.StartTime = sixth), () => fromTime.Count >= 5);

        Assert.Equal(Enumerable.Range(4, 7).Select(s => (ulong)s), fromSequence.Select(e => e.Sequence));
        Assert.Equal(events[5..].Select(e => e.EventId), fromTime.Select(e => e.EventId));
    }

    [Fact]
    public async Task One_consumer_handles_each_streams_events_in_order_across_retries()
    {
        var (transport, options) = Publisher();
        await using var _ = transport;
        var events = Enumerable.Range(0, 300).Select(i => Event($"order-{i % 5}", (i / 5) + 1, "order-placed.v1")).ToArray();
        await transport.PublishAsync(events, Ct);

        var handled = new ConcurrentQueue<ReceivedEvent>();
        var consumer = Consumer(options, "order", (received, _) =>
        {
            if (received.StreamVersion % 7 == 0 && received.Delivery == 1)
            {
                throw new InvalidOperationException("fails once");
            }

            handled.Enqueue(received);
            return Task.CompletedTask;
        }, o => o.RetryDelay = TimeSpan.FromMilliseconds(10));
        await RunUntilAsync(consumer, () => handled.Count >= 300);

        Assert.Equal(300, handled.Select(e => e.EventId).Distinct().Count());
        Assert.All(handled.GroupBy(e => e.StreamId), stream => Assert.Equal(Enumerable.Range(1, 60).Select(v => (long)v), stream.Select(e => e.StreamVersion)));
    }

    private static Func<ReceivedEvent, CancellationToken, Task> Handler(ConcurrentQueue<ReceivedEvent> handled) => (received, _) =>
    {
        handled.Enqueue(received);
        return Task.CompletedTask;
    };

    private (NatsJetStreamTransport Transport, NatsTransportOptions Options) Publisher()
    {
        var options = NatsTestOptions.Fresh(nats.Url);
        return (new NatsJetStreamTransport(options), options);
    }

    private static long _position;

    private static ForwardedEvent Event(string streamId, long version, string type, EventMetadata? metadata = null) =>
        new(Guid.NewGuid(), streamId, version, Interlocked.Increment(ref _position), type,
            Encoding.UTF8.GetBytes($$"""{"stream":"{{streamId}}","version":{{version}}}"""), metadata ?? EventMetadata.Empty,
            new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero).AddTicks(version));

    private static TestConsumer Consumer(
        NatsTransportOptions transport,
        string category,
        Func<ReceivedEvent, CancellationToken, Task> handler,
        Action<NatsConsumerOptions>? configure = null,
        IProcessedEvents? processed = null,
        string? durable = null)
    {
        var options = new NatsConsumerOptions
        {
            Url = transport.Url,
            StreamName = transport.StreamName,
            DurableName = durable ?? "test-" + Guid.NewGuid().ToString("N")[..8],
            FilterSubject = $"{transport.SubjectPrefix}.{category}.>",
            RetryDelay = TimeSpan.FromMilliseconds(50),
        };
        configure?.Invoke(options);
        return new TestConsumer(new NatsEventConsumer(options, handler, processed), options.DurableName);
    }

    /// <summary>Runs the consumer until the condition holds (and then <paramref name="then"/> completes), and stops it.</summary>
    private static async Task RunUntilAsync(TestConsumer consumer, Func<bool> condition, Func<Task>? then = null)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var running = consumer.Consumer.RunAsync(stop.Token);
        try
        {
            await UntilAsync(() => Task.FromResult(condition() || running.IsCompleted), "the consumer to handle the events");
            Assert.False(running.IsCompleted, "the consumer stopped by itself");
            if (then is not null)
            {
                await then();
            }
        }
        finally
        {
            await stop.CancelAsync();
            await running;
        }
    }

    /// <summary>Waits until the durable has acknowledged <paramref name="count"/> messages and none waits for an acknowledgement.</summary>
    private Task<bool> WaitAcknowledgedAsync(NatsTransportOptions options, string durable, ulong count) =>
        WithJetStreamAsync(async jetStream =>
        {
            await UntilAsync(async () =>
            {
                var info = (await jetStream.GetConsumerAsync(options.StreamName, durable, Ct)).Info;
                return info.AckFloor.StreamSeq >= count && info.NumAckPending == 0 && info.NumPending == 0;
            }, $"{durable} to acknowledge {count} messages");
            return true;
        });

    private Task<DateTimeOffset> StoredTimeAsync(NatsTransportOptions options, ulong sequence) =>
        WithJetStreamAsync(async jetStream =>
        {
            var stream = (NatsJSStream)await jetStream.GetStreamAsync(options.StreamName, cancellationToken: Ct);
            var stored = await stream.GetAsync(new StreamMsgGetRequest { Seq = sequence }, Ct);
            return stored.Message.Time;
        });

    private async Task<T> WithJetStreamAsync<T>(Func<NatsJSContext, Task<T>> action)
    {
        await using var connection = new NatsConnection(new NatsOpts { Url = nats.Url });
        return await action(new NatsJSContext(connection));
    }

    private static Task UntilAsync(Func<Task<bool>> condition, string what) => Eventually.UntilAsync(condition, what, Patience);

    private sealed record TestConsumer(NatsEventConsumer Consumer, string Durable);

    /// <summary>Records ids in memory; for one id, fails once right after recording it, as a lost acknowledgement would.</summary>
    private sealed class LosingProcessedEvents(Guid lose) : IProcessedEvents
    {
        private readonly InMemoryProcessedEvents _inner = new();
        private int _lost;

        public bool Lost => Volatile.Read(ref _lost) == 1;

        public ValueTask<bool> ContainsAsync(Guid eventId, CancellationToken cancellationToken) => _inner.ContainsAsync(eventId, cancellationToken);

        public async ValueTask AddAsync(Guid eventId, CancellationToken cancellationToken)
        {
            await _inner.AddAsync(eventId, cancellationToken);
            if (eventId == lose && Interlocked.Exchange(ref _lost, 1) == 0)
            {
                throw new IOException("the acknowledgement was lost");
            }
        }
    }
}
