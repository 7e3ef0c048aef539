using System.Diagnostics;
using EventSourcing.Forwarding;
using EventSourcing.Testing.Contracts.Forwarding;
using EventSourcing.Testing.Nats;
using EventSourcing.Tests.Shared.Nats;
using EventSourcing.Tests.Shared.Waiting;

namespace EventSourcing.Nats.Tests;

/// <summary>The NATS transport when the broker dies under it, and its bound on publishes in flight.</summary>
public sealed class NatsTransportFaultTests(NatsFixture nats)
{
    private static readonly TimeSpan AckTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Margin = TimeSpan.FromSeconds(5); // for a busy machine: the bound under test is the ack timeout

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_broker_killed_mid_batch_fails_the_publish_in_time_and_after_a_restart_the_batch_is_stored_once()
    {
        await using var server = await NatsServer.StartAsync(new NatsServerOptions { Restartable = true }, Ct);
        var options = NatsTestOptions.Fresh(server.Url);
        options.AckTimeout = AckTimeout;
        await using var transport = new NatsJetStreamTransport(options);
        var events = Events(40_000, 40);

        var publishing = transport.PublishAsync(events, Ct).AsTask();
        await WaitUntilAsync(() => transport.MaxInFlightSeen > 0 || publishing.IsCompleted, "the first publishes");
        await server.StopAsync(NatsStopMode.Kill, Ct);
        var killed = Stopwatch.StartNew();
        if (!publishing.IsCompletedSuccessfully)
        {
            await Assert.ThrowsAsync<EventTransportUnavailableException>(() => publishing);
            Assert.InRange(killed.Elapsed, TimeSpan.Zero, AckTimeout + Margin);
        }

        // While the broker is down, a publish fails as promptly.
        var down = Stopwatch.StartNew();
        await Assert.ThrowsAsync<EventTransportUnavailableException>(async () => await transport.PublishAsync(events[..10], Ct));
        Assert.InRange(down.Elapsed, TimeSpan.Zero, AckTimeout + Margin);

        await server.StartAgainAsync(Ct);
        await PublishUntilAcknowledgedAsync(transport, events);   // as the forwarder does: again while the broker is unavailable

        var stored = await ReadBackAsync(server.Url, options);
        var counts = stored.GroupBy(e => e.EventId).ToDictionary(group => group.Key, group => group.Count());
        Assert.Equal(0, counts.Values.Count(count => count > 1));                 // duplicates
        Assert.Equal(0, events.Count(e => !counts.ContainsKey(e.EventId)));       // lost
        Assert.Equal(events.Count, stored.Count);
        AssertOrderPerStream(stored);
    }

    [Fact]
    public async Task No_more_publishes_than_MaxInFlight_wait_for_their_acknowledgement()
    {
        await using var transport = new NatsJetStreamTransport(NatsTestOptions.Fresh(nats.Url, maxInFlight: 4));

        await transport.PublishAsync(Events(2_000, 10), Ct);

        Assert.InRange(transport.MaxInFlightSeen, 2, 4);   // pipelined, within the bound
        Assert.Equal(0, transport.InFlight);
    }

    [Fact]
    public async Task Pipelined_events_of_one_stream_are_stored_in_the_order_given()
    {
        var options = NatsTestOptions.Fresh(nats.Url);
        await using var transport = new NatsJetStreamTransport(options);
        var events = Events(5_000, 1);

        await transport.PublishAsync(events, Ct);

        Assert.True(transport.MaxInFlightSeen > 1, $"Publishes were not pipelined (at most {transport.MaxInFlightSeen} at once).");
        var stored = await ReadBackAsync(nats.Url, options);
        Assert.Equal(events.Select(e => e.EventId), stored.Select(e => e.EventId));
    }

    [Fact]
    public async Task A_broker_that_cannot_be_reached_fails_the_publish_within_the_ack_timeout()
    {
        await using var server = await NatsServer.StartAsync(new NatsServerOptions { Restartable = true }, Ct);
        var options = NatsTestOptions.Fresh(server.Url);
        options.AckTimeout = AckTimeout;
        await server.StopAsync(NatsStopMode.Kill, Ct);
        await using var transport = new NatsJetStreamTransport(options);
        var watch = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<EventTransportUnavailableException>(async () => await transport.PublishAsync(Events(5, 1), Ct));

        Assert.InRange(watch.Elapsed, TimeSpan.Zero, AckTimeout + Margin);
        Assert.NotNull(error.InnerException);
    }

    private static List<ForwardedEvent> Events(int count, int streams) => EventsOf.Make(count, streams);

    private static async Task<IReadOnlyList<ForwardedEvent>> ReadBackAsync(string url, NatsTransportOptions options)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        return await JetStreamReader.ReadAllAsync(url, options.StreamName, timeout.Token);
    }

    private static void AssertOrderPerStream(IReadOnlyList<ForwardedEvent> stored)
    {
        foreach (var stream in stored.GroupBy(e => e.StreamId))
        {
            Assert.Equal(Enumerable.Range(1, stream.Count()).Select(v => (long)v), stream.Select(e => e.StreamVersion));
        }
    }

    private static async Task PublishUntilAcknowledgedAsync(NatsJetStreamTransport transport, IReadOnlyList<ForwardedEvent> events)
    {
        var failures = new List<string>();
        await WaitUntilAsync(
            () =>
            {
                try
                {
                    transport.PublishAsync(events, Ct).AsTask().GetAwaiter().GetResult();
                    return true;
                }
                catch (EventTransportUnavailableException exception)
                {
                    failures.Add(exception.Message);
                    TestContext.Current.TestOutputHelper?.WriteLine($"Publish failed, sent again: {exception.Message}");
                    return false;
                }
            },
            "the batch to be acknowledged after the restart");
    }

    private static Task WaitUntilAsync(Func<bool> condition, string what) => Eventually.UntilAsync(condition, what, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(1));

    /// <summary>The contract's event maker, reached through a derived class.</summary>
    private abstract class EventsOf : EventTransportContract
    {
        public static List<ForwardedEvent> Make(int count, int streams) => Events(count, streams);
    }
}
