using EventSourcing.Events;
using EventSourcing.Storage;

namespace EventSourcing.Testing.Contracts.Storage;

/// <summary>
/// The behaviour every event store must have, written once. A store's test class derives from this and says how to
/// create a store. Tests use fresh stream ids, so they also hold on a store shared with other tests.
/// </summary>
public abstract partial class EventStoreContract
{
    /// <summary>How long a test waits for something that should happen soon: 30 s.</summary>
    protected static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>The running test's cancellation token.</summary>
    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A store whose registry is <see cref="ContractEvents.Registry()"/>.</summary>
    protected abstract Task<IEventStore> CreateStoreAsync();

    /// <summary>Stores an event under <paramref name="eventType"/> as raw JSON, bypassing the registry.</summary>
    protected abstract Task WriteRawAsync(IEventStore store, string streamId, string eventType, string json);

    /// <summary>A stream id no other test uses.</summary>
    protected static string NewStreamId(string prefix = "contract") => $"{prefix}-{Guid.NewGuid():N}";

    /// <summary>The events of <paramref name="streamId"/> from <paramref name="fromVersion"/> on.</summary>
    protected static async Task<List<EventEnvelope>> ReadStream(IEventStore store, string streamId, long fromVersion = 1) =>
        await store.ReadStreamAsync(streamId, fromVersion, Ct).ToListAsync(Ct);

    /// <summary>Appends <paramref name="events"/> to <paramref name="streamId"/> without metadata.</summary>
    protected static Task<AppendResult> Append(IEventStore store, string streamId, ExpectedVersion expected, params object[] events) =>
        store.AppendAsync(streamId, expected, events, EventMetadata.Empty, Ct);

    /// <summary>
    /// Waits until readers of the whole log can see <paramref name="position"/>: a store may hold the head back for a
    /// while behind a position that a transaction in flight could still fill (a number burned by another test's failed
    /// append looks just like one, until it is proven dead).
    /// </summary>
    protected static async Task WaitForHeadAsync(IEventStore store, long position)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(Timeout);
        await store.SubscribeAllAsync(position, timeout.Token).FirstAsync(timeout.Token);
    }

    /// <summary>Appended events are read back in order with versions.</summary>
    [Fact]
    public async Task Appended_events_are_read_back_in_order_with_versions()
    {
        var store = await CreateStoreAsync();
        var stream = NewStreamId();

        var first = await Append(store, stream, ExpectedVersion.NoStream, ContractEvents.Thing(1), new TagsChanged(Guid.NewGuid(), ["a", "b"]));
        var second = await Append(store, stream, ExpectedVersion.Exact(2), ContractEvents.Thing(3));

        Assert.Equal(2, first.StreamVersion);
        Assert.Equal(3, second.StreamVersion);
        Assert.True(second.Position > first.Position);
        var events = await ReadStream(store, stream);
        Assert.Equal([1L, 2L, 3L], events.Select(e => e.StreamVersion));
        Assert.All(events, e => Assert.Equal(stream, e.StreamId));
        Assert.Equal(ContractEvents.Thing(1), events[0].Data);
        Assert.Equal(["a", "b"], Assert.IsType<TagsChanged>(events[1].Data).Tags);
        Assert.Equal(["thing-happened.v1", "tags-changed.v1", "thing-happened.v1"], events.Select(e => e.EventType));
        Assert.Equal(second.Position, events[^1].Position);
        Assert.Equal(3, events.Select(e => e.EventId).Distinct().Count());
    }

    /// <summary>Reading a stream from a version returns the tail and a missing stream is empty.</summary>
    [Fact]
    public async Task Reading_a_stream_from_a_version_returns_the_tail_and_a_missing_stream_is_empty()
    {
        var store = await CreateStoreAsync();
        var stream = NewStreamId();
        await Append(store, stream, ExpectedVersion.NoStream, ContractEvents.Thing(1), ContractEvents.Thing(2), ContractEvents.Thing(3));

        var tail = await ReadStream(store, stream, fromVersion: 2);

        Assert.Equal([2L, 3L], tail.Select(e => e.StreamVersion));
        Assert.Empty(await ReadStream(store, NewStreamId("missing")));
        Assert.Empty(await ReadStream(store, stream, fromVersion: 4));
    }

    /// <summary>Metadata and timestamp are stored with each event.</summary>
    [Fact]
    public async Task Metadata_and_timestamp_are_stored_with_each_event()
    {
        var store = await CreateStoreAsync();
        var stream = NewStreamId();
        var metadata = new EventMetadata
        {
            CommandId = Guid.NewGuid(), CorrelationId = "corr-1", CausationId = "cause-1", User = "user-7",
            TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        };
        var before = DateTimeOffset.UtcNow.AddMinutes(-5);

        await store.AppendAsync(stream, ExpectedVersion.Any, [ContractEvents.Thing(1), ContractEvents.Thing(2)], metadata, Ct);

        var events = await ReadStream(store, stream);
        Assert.All(events, e => Assert.Equal(metadata, e.Metadata));
        Assert.All(events, e => Assert.InRange(e.Timestamp, before, DateTimeOffset.UtcNow.AddMinutes(5)));
        Assert.Equal([EventIds.FromCommand(metadata.CommandId.Value, 0), EventIds.FromCommand(metadata.CommandId.Value, 1)], events.Select(e => e.EventId));
    }

    /// <summary>An append inside a span stores the span's <c>traceparent</c> with its events: the trace goes on from them.</summary>
    [Fact]
    public async Task An_append_inside_a_span_stores_its_traceparent_with_the_events()
    {
        var store = await CreateStoreAsync();
        var stream = NewStreamId();
        using var source = new System.Diagnostics.ActivitySource($"contract-{Guid.NewGuid():N}");
        using var listener = new System.Diagnostics.ActivityListener
        {
            ShouldListenTo = s => s.Name == source.Name,
            Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllDataAndRecorded,
        };
        System.Diagnostics.ActivitySource.AddActivityListener(listener);

        string traceId;
        using (var request = source.StartActivity("request"))
        {
            traceId = request!.TraceId.ToString();
            await store.AppendAsync(stream, ExpectedVersion.Any, [ContractEvents.Thing(1)], EventMetadata.Empty, Ct);
        }

        // Outside the request: not in its trace (its own append span's, when something listens to the library's spans).
        await store.AppendAsync(stream, ExpectedVersion.Any, [ContractEvents.Thing(2)], EventMetadata.Empty, Ct);

        var events = await ReadStream(store, stream);
        Assert.Matches($"^00-{traceId}-[0-9a-f]{{16}}-0[01]$", events[0].Metadata.TraceParent);
        Assert.DoesNotContain(traceId, events[1].Metadata.TraceParent ?? string.Empty, StringComparison.Ordinal);
    }

    /// <summary>Read all returns every stream in position order.</summary>
    [Fact]
    public async Task Read_all_returns_every_stream_in_position_order()
    {
        var store = await CreateStoreAsync();
        var head = await store.ReadHeadPositionAsync(Ct);
        var streams = Enumerable.Range(0, 3).Select(_ => NewStreamId()).ToArray();
        var appended = new List<(string Stream, int Number)>();
        var last = 0L;
        for (var i = 0; i < 12; i++)
        {
            var stream = streams[i % 3];
            last = (await Append(store, stream, ExpectedVersion.Any, ContractEvents.Thing(i))).Position;
            appended.Add((stream, i));
        }

        await WaitForHeadAsync(store, last);
        var all = await store.ReadAllAsync(head + 1, Ct).ToListAsync(Ct);
        var mine = all.Where(e => streams.Contains(e.StreamId)).ToList();

        Assert.Equal(appended, mine.Select(e => (e.StreamId, ((ThingHappened)e.Data).Number)));
        Assert.True(mine.Select(e => e.Position).SequenceEqual(mine.Select(e => e.Position).Order()));
        Assert.Equal(mine.Count, mine.Select(e => e.Position).Distinct().Count());
        Assert.True(await store.ReadHeadPositionAsync(Ct) >= mine[^1].Position);
        Assert.All(await store.ReadAllAsync(mine[5].Position, Ct).Take(1).ToListAsync(Ct), e => Assert.Equal(mine[5].Position, e.Position));
    }

    /// <summary>A subscriber at the end of the log receives each next append.</summary>
    [Fact]
    public async Task A_subscriber_at_the_end_of_the_log_receives_each_next_append()
    {
        var store = await CreateStoreAsync();
        var stream = NewStreamId();
        await Append(store, stream, ExpectedVersion.NoStream, ContractEvents.Thing(0));
        var from = await store.ReadHeadPositionAsync(Ct) + 1;
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cancel.CancelAfter(Timeout);

        var received = store.SubscribeAllAsync(from, cancel.Token).Where(e => e.StreamId == stream).Take(3).ToListAsync(cancel.Token).AsTask();
        for (var i = 1; i <= 3; i++)
        {
            Assert.False(received.IsCompleted);
            await Append(store, stream, ExpectedVersion.Exact(i), ContractEvents.Thing(i));
        }

        var events = await received;
        Assert.Equal([1, 2, 3], events.Select(e => ((ThingHappened)e.Data).Number));
    }

    /// <summary>A subscription ends when cancelled.</summary>
    [Fact]
    public async Task A_subscription_ends_when_cancelled()
    {
        var store = await CreateStoreAsync();
        var head = await store.ReadHeadPositionAsync(Ct);
        using var cancel = new CancellationTokenSource();

        var subscription = store.SubscribeAllAsync(head + 1, cancel.Token).ToListAsync(cancel.Token).AsTask();
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => subscription.WaitAsync(Timeout, Ct));
    }
}
