using System.Text;
using EventSourcing.Events;
using EventSourcing.Forwarding;

namespace EventSourcing.Testing.Contracts.Forwarding;

/// <summary>
/// The behaviour every event transport must have, written once. A transport's test class derives from this, says how to
/// create a transport that publishes to a destination of its own (a fresh stream or topic per transport), and how to read
/// back everything the broker stored there.
/// </summary>
public abstract class EventTransportContract : IAsyncDisposable
{
    /// <summary>How long a test waits for something that should happen soon: 30 s.</summary>
    protected static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private readonly List<IEventTransport> _transports = [];

    /// <summary>The running test's cancellation token.</summary>
    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>
    /// A transport publishing to a destination no other transport uses, with at most <paramref name="maxInFlight"/>
    /// publishes waiting for their acknowledgement at once. Disposed (when it is <see cref="IAsyncDisposable"/>) after the test.
    /// </summary>
    protected abstract Task<IEventTransport> CreateTransportAsync(int maxInFlight, CancellationToken cancellationToken);

    /// <summary>
    /// Everything the broker stored at <paramref name="transport"/>'s destination, in the broker's order, each rebuilt
    /// from the message (its headers and body) as a consumer would. <see cref="EventMetadata.User"/> need not travel.
    /// </summary>
    protected abstract Task<IReadOnlyList<ForwardedEvent>> ReadBackAsync(IEventTransport transport, CancellationToken cancellationToken);

    /// <summary>Disposes the transports the test created.</summary>
    /// <returns>A task that completes once they are disposed.</returns>
    public async ValueTask DisposeAsync()
    {
        foreach (var transport in _transports)
        {
            if (transport is IAsyncDisposable disposable)
            {
                await disposable.DisposeAsync();
            }
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>Events of <paramref name="streams"/> streams, <paramref name="count"/> in all, interleaved (seeded), in log order.</summary>
    /// <param name="count">How many events.</param>
    /// <param name="streams">Over how many streams.</param>
    /// <param name="seed">The seed of the interleaving.</param>
    /// <returns>The events, positions 1 to <paramref name="count"/>, each stream's versions from 1.</returns>
    protected static List<ForwardedEvent> Events(int count, int streams, int seed = 7)
    {
        var random = new Random(seed);
        var run = Guid.NewGuid().ToString("N")[..8];
        var versions = new long[streams];
        var start = new DateTimeOffset(2030, 6, 1, 12, 0, 0, TimeSpan.Zero);
        return [.. Enumerable.Range(1, count).Select(position =>
        {
            var stream = random.Next(streams);
            var version = ++versions[stream];
            return Event($"tally-{run}-{stream}", version, position, start.AddMilliseconds(position));
        })];
    }

    /// <summary>One event with a JSON body and full metadata.</summary>
    protected static ForwardedEvent Event(string streamId, long version, long position, DateTimeOffset timestamp) => new(
        Guid.NewGuid(),
        streamId,
        version,
        position,
        "tally-increased.v1",
        Encoding.UTF8.GetBytes($$"""{"amount":{{version}},"total":{{position}},"note":"é ✓"}"""),
        new EventMetadata
        {
            CommandId = Guid.NewGuid(),
            CorrelationId = $"correlation-{position}",
            CausationId = $"causation-{position}",
            TraceParent = $"00-{Guid.NewGuid():N}-{Guid.NewGuid().ToString("N")[..16]}-01",
        },
        timestamp);

    /// <summary>Everything acknowledged is read back exactly once, with its fields, metadata and body.</summary>
    [Fact]
    public async Task Everything_acknowledged_is_read_back_once_with_its_headers_and_body()
    {
        var transport = await Transport();
        var time = new DateTimeOffset(2030, 6, 1, 12, 0, 0, TimeSpan.FromHours(2));
        List<ForwardedEvent> events =
        [
            Event("order-17", 1, 10, time),
            Event("order-a.b c*>%", 1, 11, time.AddSeconds(1)),
            Event("nodash", 1, 12, time.AddSeconds(2)),
            Event("-leading", 1, 13, time.AddSeconds(3)),
            Event("gäst-ü", 1, 14, time.AddSeconds(4)),
            Event("order-17", 2, 15, time.AddSeconds(5)) with { Metadata = EventMetadata.Empty, Data = Encoding.UTF8.GetBytes("{}") },
        ];

        await transport.PublishAsync(events, Ct);

        var stored = await transport.ReadBack(this);
        Assert.Equal(events.Count, stored.Count);
        foreach (var expected in events)
        {
            var actual = Assert.Single(stored, e => e.EventId == expected.EventId);
            AssertSame(expected, actual);
        }
    }

    /// <summary>5,000 events of 50 interleaved streams, in 10 calls: each stream's events come back in the order given, once.</summary>
    [Fact]
    public async Task Events_of_each_stream_come_back_in_the_order_given()
    {
        var transport = await Transport();
        var events = Events(5_000, 50);

        foreach (var page in events.Chunk(500))
        {
            await transport.PublishAsync(page, Ct);
        }

        var stored = await transport.ReadBack(this);
        Assert.Equal(events.Count, stored.Count);
        Assert.Equal(events.Select(e => e.EventId).Order(), stored.Select(e => e.EventId).Order());
        foreach (var stream in stored.GroupBy(e => e.StreamId))
        {
            Assert.Equal(Enumerable.Range(1, stream.Count()).Select(v => (long)v), stream.Select(e => e.StreamVersion));
        }
    }

    /// <summary>The same events published again (the same ids) are stored once; new ones beside them are stored.</summary>
    [Fact]
    public async Task The_same_events_published_twice_are_stored_once()
    {
        var transport = await Transport();
        var events = Events(300, 5);

        await transport.PublishAsync(events[..200], Ct);
        await transport.PublishAsync(events[..200], Ct);
        await transport.PublishAsync(events[100..], Ct);   // half again, then new ones

        var stored = await transport.ReadBack(this);
        Assert.Equal(events.Select(e => e.EventId), stored.Select(e => e.EventId));
    }

    /// <summary>A batch many times larger than the in-flight bound is published whole, in order.</summary>
    [Fact]
    public async Task A_batch_larger_than_the_in_flight_bound_is_published_whole()
    {
        var transport = await Transport(maxInFlight: 4);
        var events = Events(1_000, 3);

        await transport.PublishAsync(events, Ct);

        var stored = await transport.ReadBack(this);
        Assert.Equal(events.Select(e => e.EventId), stored.Select(e => e.EventId));
    }

    /// <summary>An empty batch is no error and publishes nothing.</summary>
    [Fact]
    public async Task An_empty_batch_publishes_nothing()
    {
        var transport = await Transport();

        await transport.PublishAsync([], Ct);

        Assert.Empty(await transport.ReadBack(this));
    }

    /// <summary>A publish cancelled before it starts throws and publishes nothing.</summary>
    [Fact]
    public async Task A_publish_cancelled_before_it_starts_throws_and_publishes_nothing()
    {
        var transport = await Transport();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await transport.PublishAsync(Events(10, 2), cancelled.Token));

        Assert.Empty(await transport.ReadBack(this));
    }

    /// <summary>
    /// A publish cancelled half-way throws (or completes, if it was faster); publishing the batch again then stores every
    /// event once, each stream in order.
    /// </summary>
    [Fact]
    public async Task After_a_publish_cancelled_half_way_publishing_again_stores_each_event_once_in_order()
    {
        var transport = await Transport();
        var events = Events(5_000, 20);
        await transport.PublishAsync(events[..100], Ct);   // connected, so the cancellation falls while publishing
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cancellation.CancelAfter(TimeSpan.FromMilliseconds(1));

        try
        {
            await transport.PublishAsync(events, cancellation.Token);
        }
        catch (OperationCanceledException)
        {
            // Cancelled half-way, as meant; or it finished first.
        }

        await transport.PublishAsync(events, Ct);

        var stored = await transport.ReadBack(this);
        Assert.Equal(events.Select(e => e.EventId).Order(), stored.Select(e => e.EventId).Order());
        foreach (var stream in stored.GroupBy(e => e.StreamId))
        {
            Assert.Equal(Enumerable.Range(1, stream.Count()).Select(v => (long)v), stream.Select(e => e.StreamVersion));
        }
    }

    /// <summary>Everything a consumer can rebuild of the event is what was published.</summary>
    protected static void AssertSame(ForwardedEvent expected, ForwardedEvent actual)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(actual);
        Assert.Equal(expected.EventId, actual.EventId);
        Assert.Equal(expected.StreamId, actual.StreamId);
        Assert.Equal(expected.StreamVersion, actual.StreamVersion);
        Assert.Equal(expected.Position, actual.Position);
        Assert.Equal(expected.EventType, actual.EventType);
        Assert.Equal(expected.Timestamp, actual.Timestamp);
        Assert.Equal(expected.Timestamp.Offset, actual.Timestamp.Offset);
        Assert.Equal(expected.Data.ToArray(), actual.Data.ToArray());
        Assert.Equal(expected.Metadata.CommandId, actual.Metadata.CommandId);
        Assert.Equal(expected.Metadata.CorrelationId, actual.Metadata.CorrelationId);
        Assert.Equal(expected.Metadata.CausationId, actual.Metadata.CausationId);
        Assert.Equal(expected.Metadata.TraceParent, actual.Metadata.TraceParent);
    }

    private async Task<TransportUnderTest> Transport(int maxInFlight = 256)
    {
        var transport = await CreateTransportAsync(maxInFlight, Ct);
        _transports.Add(transport);
        return new TransportUnderTest(transport);
    }

    /// <summary>The transport with the contract's read-back beside it.</summary>
    private sealed class TransportUnderTest(IEventTransport transport)
    {
        public ValueTask PublishAsync(IReadOnlyList<ForwardedEvent> events, CancellationToken cancellationToken) =>
            transport.PublishAsync(events, cancellationToken);

        public async Task<IReadOnlyList<ForwardedEvent>> ReadBack(EventTransportContract contract)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            timeout.CancelAfter(Timeout);
            return await contract.ReadBackAsync(transport, timeout.Token);
        }
    }
}
