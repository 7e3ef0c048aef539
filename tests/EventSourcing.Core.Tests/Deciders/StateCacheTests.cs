using System.Collections.Concurrent;
using EventSourcing.Commands;
using EventSourcing.Deciders;
using EventSourcing.Erasure;
using EventSourcing.Events;
using EventSourcing.Hosting;
using EventSourcing.Privacy;
using EventSourcing.Storage;
using EventSourcing.Testing.Contracts.Domain;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace EventSourcing.Core.Tests.Deciders;

/// <summary>
/// The decider handler's cache of folded states: a command reads only the events after the version cached, and still
/// decides on the whole stream as it is, whoever appended to it. Handlers here retry no conflict unless a test says so,
/// so a decision on a stale state shows as a <see cref="ConcurrencyException"/> instead of being hidden by a retry.
/// </summary>
public sealed class StateCacheTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static InMemoryEventStore NewStore() =>
        new(new SystemTextJsonEventSerializer(TallyDecider.Register(new EventTypeRegistry())));

    private static DeciderHandler<TallyCommand, TallyEvent, Tally> Handler(IEventStore store, int retries = 0, int cachedStreams = 10_000) =>
        new(TallyDecider.Decider, store, Options.Create(new CommandHandlingOptions { MaxConflictRetries = retries, CachedStreams = cachedStreams }));

    private static async Task<int[]> TotalsAsync(IEventStore store, string streamId) =>
        [.. (await store.ReadStreamAsync(streamId, 1, Ct).ToListAsync(Ct)).Select(e => ((TallyIncreased)e.Data).Total)];

    [Fact]
    public async Task A_command_reads_only_the_events_after_the_cached_version()
    {
        var store = new RecordingStore(NewStore());
        var handler = Handler(store);

        await handler.HandleAsync("tally-a", new AddToTally("a", 1, "n"), Ct);
        await handler.HandleAsync("tally-a", new AddToTally("a", 2, "n"), Ct);
        await handler.HandleAsync("tally-a", new AddToTally("a", 3, "n"), Ct);

        Assert.Equal([1L, 2L, 3L], store.ReadsOf("tally-a"));
        var totals = await TotalsAsync(store, "tally-a");
        Assert.Equal([1, 3, 6], totals);
        Assert.Equal(1, handler.CachedStreamCount);
    }

    [Fact]
    public async Task Events_another_handler_appended_are_folded_before_deciding()
    {
        var store = NewStore();
        var first = Handler(store);
        var second = Handler(store);

        await first.HandleAsync("tally-b", new AddToTally("b", 5, "n"), Ct);
        await second.HandleAsync("tally-b", new AddToTally("b", 3, "n"), Ct);
        await second.HandleAsync("tally-b", new AddToTally("b", 4, "n"), Ct);
        var result = await first.HandleAsync("tally-b", new AddToTally("b", 1, "n"), Ct);

        Assert.Equal(4, result.StreamVersion);
        var totals = await TotalsAsync(store, "tally-b");
        Assert.Equal([5, 8, 12, 13], totals);
        Assert.Equal(new Tally.Open(13), (await first.LoadAsync("tally-b", Ct)).State);
    }

    [Fact]
    public async Task Events_appended_to_the_store_directly_are_folded_before_deciding_on_any_store()
    {
        foreach (var store in new IEventStore[] { NewStore(), new RecordingStore(NewStore()) })
        {
            var handler = Handler(store);
            await handler.HandleAsync("tally-c", new AddToTally("c", 2, "n"), Ct);

            await store.AppendAsync("tally-c", ExpectedVersion.Exact(1), [new TallyIncreased(10, 12)], EventMetadata.Empty, Ct);
            await handler.HandleAsync("tally-c", new AddToTally("c", 1, "n"), Ct);
            await store.AppendAsync("tally-c", ExpectedVersion.Exact(3), [new TallyClosed(13)], EventMetadata.Empty, Ct);

            await Assert.ThrowsAsync<DomainException>(() => handler.HandleAsync("tally-c", new AddToTally("c", 1, "n"), Ct));
            Assert.Equal(13, ((TallyIncreased)(await store.ReadStreamAsync("tally-c", 3, Ct).FirstAsync(Ct)).Data).Total);
        }
    }

    [Fact]
    public async Task After_a_conflict_the_entry_decided_on_is_dropped_and_the_stream_read_again_from_the_start()
    {
        var store = new RecordingStore(NewStore());
        var handler = Handler(store, retries: 1);
        await handler.HandleAsync("tally-d", new AddToTally("d", 2, "n"), Ct);

        store.SlipInBeforeNextAppend(new TallyIncreased(10, 12));
        var result = await handler.HandleAsync("tally-d", new AddToTally("d", 1, "n"), Ct);

        Assert.Equal(3, result.StreamVersion);
        Assert.Equal([1L, 2L, 1L], store.ReadsOf("tally-d")); // the retry read from version 1, not from the cached version
        var totals = await TotalsAsync(store, "tally-d");
        Assert.Equal([2, 12, 13], totals);
    }

    [Fact]
    public async Task A_cached_state_ahead_of_its_stream_is_dropped_on_the_conflict_it_causes()
    {
        // A stream deleted and started again: the cached state is of events the store no longer holds.
        var store = new RecordingStore(NewStore());
        var handler = Handler(store, retries: 1);
        await handler.HandleAsync("tally-e", new AddToTally("e", 2, "n"), Ct);
        await handler.HandleAsync("tally-e", new AddToTally("e", 3, "n"), Ct);

        store.StartStreamsAgain();
        var result = await handler.HandleAsync("tally-e", new AddToTally("e", 1, "n"), Ct);

        Assert.Equal(1, result.StreamVersion);
        var totals = await TotalsAsync(store, "tally-e");
        Assert.Equal([1], totals);
    }

    [Fact]
    public async Task Past_the_bound_the_least_recently_used_streams_are_evicted_and_then_read_in_full()
    {
        var store = new RecordingStore(NewStore());
        var handler = Handler(store, cachedStreams: 2);
        await handler.HandleAsync("tally-f1", new AddToTally("f1", 1, "n"), Ct);
        await handler.HandleAsync("tally-f2", new AddToTally("f2", 1, "n"), Ct);
        await handler.HandleAsync("tally-f1", new AddToTally("f1", 1, "n"), Ct);
        await handler.HandleAsync("tally-f3", new AddToTally("f3", 1, "n"), Ct); // three cached: the two least recently used go

        Assert.Equal(1, handler.CachedStreamCount);
        await store.AppendAsync("tally-f1", ExpectedVersion.Exact(2), [new TallyIncreased(5, 7)], EventMetadata.Empty, Ct);
        await handler.HandleAsync("tally-f3", new AddToTally("f3", 1, "n"), Ct);
        await handler.HandleAsync("tally-f1", new AddToTally("f1", 1, "n"), Ct);
        await handler.HandleAsync("tally-f2", new AddToTally("f2", 1, "n"), Ct);

        Assert.Equal([1L, 2L], store.ReadsOf("tally-f3")); // used last: still cached
        Assert.Equal([1L, 2L, 1L], store.ReadsOf("tally-f1"));
        Assert.Equal([1L, 1L], store.ReadsOf("tally-f2"));
        var totals = await TotalsAsync(store, "tally-f1");
        Assert.Equal([1, 2, 7, 8], totals);
        Assert.True(handler.CachedStreamCount <= 2);
    }

    [Fact]
    public async Task Concurrent_commands_on_one_stream_from_two_handlers_lose_no_update_and_none_decides_on_a_stale_state()
    {
        foreach (var store in new IEventStore[] { NewStore(), new RecordingStore(NewStore()) })
        {
            var handlers = new[] { Handler(store, retries: 500), Handler(store, retries: 500) };
            using var start = new ManualResetEventSlim();
            var commands = Enumerable.Range(1, 64).Select(i => Task.Run(async () =>
            {
                start.Wait(Ct);
                return await handlers[i % 2].HandleAsync("tally-hot", new AddToTally("hot", i, "n"), Ct);
            })).ToArray();
            start.Set();
            var results = await Task.WhenAll(commands);

            var events = await store.ReadStreamAsync("tally-hot", 1, Ct).ToListAsync(Ct);
            Assert.Equal(Enumerable.Range(1, 64).Select(v => (long)v), results.Select(r => r.StreamVersion).Order());
            Assert.Equal(Enumerable.Range(1, 64), events.Select(e => ((TallyIncreased)e.Data).Amount).Order());
            var total = 0;
            foreach (var increased in events.Select(e => (TallyIncreased)e.Data))
            {
                total += increased.Amount;
                Assert.Equal(total, increased.Total); // each decided on the state right before it
            }

            foreach (var handler in handlers)
            {
                Assert.Equal(new Tally.Open(64 * 65 / 2), (await handler.LoadAsync("tally-hot", Ct)).State);
            }
        }
    }

    [Fact]
    public async Task A_repeated_command_id_is_found_in_events_before_the_cached_version()
    {
        var store = NewStore();
        var handler = Handler(store);
        var command = new AddToTally("g", 5, "n", Guid.NewGuid());
        var first = await handler.HandleAsync("tally-g", command, Ct);
        await handler.HandleAsync("tally-g", new CloseTally("g"), Ct);

        var again = await handler.HandleAsync("tally-g", command, Ct);

        Assert.Equal(first with { AlreadyApplied = true }, again);
    }

    [Fact]
    public async Task Snapshots_are_kept_at_their_versions_and_a_new_handler_starts_from_them()
    {
        using var services = new ServiceCollection()
            .AddEventSourcing(es =>
            {
                TallyDecider.Register(es.Events);
                es.AddDecider(Totals.Decider);
                es.ConfigureCommands(o => o.SnapshotEvery = 2);
            })
            .BuildServiceProvider();
        var handler = services.GetRequiredService<DeciderHandler<TallyCommand, TallyEvent, TallyTotal>>();
        var snapshots = services.GetRequiredService<ISnapshotStore>();
        var store = new RecordingStore(services.GetRequiredService<IEventStore>());
        var versions = new List<long?>();
        for (var i = 1; i <= 5; i++)
        {
            await handler.HandleAsync("tally-s", new AddToTally("s", i, "n"), Ct);
            versions.Add((await snapshots.LoadAsync<TallyTotal>("tally-s", Ct))?.Version);
        }

        var fresh = new DeciderHandler<TallyCommand, TallyEvent, TallyTotal>(
            Totals.Decider, store, Options.Create(new CommandHandlingOptions { SnapshotEvery = 2 }), snapshots: snapshots);
        var result = await fresh.HandleAsync("tally-s", new AddToTally("s", 6, "n"), Ct);

        Assert.Equal([null, 2L, 2L, 4L, 4L], versions);
        Assert.Equal([5L], store.ReadsOf("tally-s"));
        Assert.Equal(6, result.StreamVersion);
        Assert.Equal(21, ((TallyIncreased)(await store.ReadStreamAsync("tally-s", 6, Ct).SingleAsync(Ct)).Data).Total);
        Assert.Equal(6, (await snapshots.LoadAsync<TallyTotal>("tally-s", Ct))!.Version);
    }

    [Fact]
    public async Task After_a_forget_the_next_command_decides_on_the_erased_state_whether_the_state_or_only_its_events_hold_personal_data()
    {
        using var services = new ServiceCollection()
            .AddEventSourcing(es =>
            {
                es.Events.Register<GuestNamed>("cache-guest-named.v1").Register<GuestDescribed>("cache-guest-described.v1");
                es.AddDecider(Guests.WithName);
                es.AddDecider(Guests.WithNameLength);
            })
            .BuildServiceProvider();
        var withName = services.GetRequiredService<DeciderHandler<GuestCommand, GuestEvent, NamedGuest>>();
        var withLength = services.GetRequiredService<DeciderHandler<GuestCommand, GuestEvent, GuestNameLength>>();
        var store = services.GetRequiredService<IEventStore>();
        var guest = Guid.NewGuid();

        await withName.HandleAsync("guest-1", new NameGuest(guest, "Ada"), Ct);
        await withName.HandleAsync("guest-1", new DescribeGuest(), Ct);
        await withLength.HandleAsync("guest-2", new NameGuest(guest, "Ada"), Ct);
        await withLength.HandleAsync("guest-2", new DescribeGuest(), Ct);
        await services.GetRequiredService<PersonalDataEraser>().ForgetAsync(guest.ToString(), Ct);
        await withName.HandleAsync("guest-1", new DescribeGuest(), Ct);
        await withLength.HandleAsync("guest-2", new DescribeGuest(), Ct);

        var erased = new PersonalDataOptions().ErasedPlaceholder.Length;
        Assert.NotEqual(3, erased);
        var named = await LengthsAsync("guest-1");
        Assert.Equal([3, erased], named);
        var derived = await LengthsAsync("guest-2");
        Assert.Equal([3, erased], derived);
        Assert.Equal(0, withName.CachedStreamCount);
        Assert.Equal(0, withLength.CachedStreamCount);

        async Task<int[]> LengthsAsync(string stream) =>
            [.. (await store.ReadStreamAsync(stream, 1, Ct).ToListAsync(Ct)).Select(e => e.Data).OfType<GuestDescribed>().Select(d => d.NameLength)];
    }

    /// <summary>A tally's total, as one concrete record (a snapshot's state is read back as its declared type).</summary>
    public sealed record TallyTotal(int Total);

    private static class Totals
    {
        public static readonly Decider<TallyCommand, TallyEvent, TallyTotal> Decider = new(
            new TallyTotal(0),
            (state, @event) => @event is TallyIncreased increased ? new TallyTotal(increased.Total) : state,
            (command, state) => command is AddToTally add ? [new TallyIncreased(add.Amount, state.Total + add.Amount)] : []);
    }

    public abstract record GuestCommand : IDeciderCommand;

    public sealed record NameGuest(Guid GuestId, string Name) : GuestCommand;

    public sealed record DescribeGuest : GuestCommand;

    public abstract record GuestEvent;

    public sealed record GuestNamed([property: DataSubject] Guid GuestId, [property: PersonalData] string Name) : GuestEvent;

    public sealed record GuestDescribed(int NameLength) : GuestEvent;

    /// <summary>A state holding the personal value itself, marked.</summary>
    public sealed record NamedGuest([property: DataSubject] Guid GuestId, [property: PersonalData] string Name);

    /// <summary>A state holding only a value derived from it, unmarked.</summary>
    public sealed record GuestNameLength(int Length);

    private static class Guests
    {
        public static readonly Decider<GuestCommand, GuestEvent, NamedGuest> WithName = new(
            new NamedGuest(Guid.Empty, string.Empty),
            (state, @event) => @event is GuestNamed named ? new NamedGuest(named.GuestId, named.Name) : state,
            (command, state) => command switch
            {
                NameGuest name => [new GuestNamed(name.GuestId, name.Name)],
                _ => [new GuestDescribed(state.Name.Length)],
            });

        public static readonly Decider<GuestCommand, GuestEvent, GuestNameLength> WithNameLength = new(
            new GuestNameLength(0),
            (state, @event) => @event is GuestNamed named ? new GuestNameLength(named.Name.Length) : state,
            (command, state) => command switch
            {
                NameGuest name => [new GuestNamed(name.GuestId, name.Name)],
                _ => [new GuestDescribed(state.Length)],
            });
    }

    /// <summary>
    /// A store over another that records where each stream read starts, can slip another writer's event in before the
    /// next append, and can start every stream again from nothing (as if deleted).
    /// </summary>
    private sealed class RecordingStore(IEventStore inner) : IEventStore
    {
        private readonly ConcurrentQueue<(string StreamId, long FromVersion)> _reads = new();
        private object? _slipIn;
        private int _generation;

        public long[] ReadsOf(string streamId) => [.. _reads.Where(r => r.StreamId == streamId).Select(r => r.FromVersion)];

        public void SlipInBeforeNextAppend(object @event) => _slipIn = @event;

        public void StartStreamsAgain() => _generation++;

        private string Stream(string streamId) => _generation == 0 ? streamId : $"{streamId}-again-{_generation}";

        public async Task<AppendResult> AppendAsync(string streamId, ExpectedVersion expectedVersion, IReadOnlyList<object> events, EventMetadata metadata, CancellationToken cancellationToken)
        {
            if (Interlocked.Exchange(ref _slipIn, null) is { } other)
            {
                await inner.AppendAsync(Stream(streamId), ExpectedVersion.Any, [other], EventMetadata.Empty, cancellationToken);
            }

            return await inner.AppendAsync(Stream(streamId), expectedVersion, events, metadata, cancellationToken);
        }

        public async IAsyncEnumerable<EventEnvelope> ReadStreamAsync(string streamId, long fromVersion, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
        {
            _reads.Enqueue((streamId, fromVersion));
            await foreach (var envelope in inner.ReadStreamAsync(Stream(streamId), fromVersion, cancellationToken))
            {
                yield return envelope;
            }
        }

        public IAsyncEnumerable<EventEnvelope> ReadAllAsync(long fromPosition, CancellationToken cancellationToken) => inner.ReadAllAsync(fromPosition, cancellationToken);

        public IAsyncEnumerable<LogPage> FollowAsync(long fromPosition, IReadOnlySet<string>? eventTypes, CancellationToken cancellationToken) => inner.FollowAsync(fromPosition, eventTypes, cancellationToken);

        public Task<long> ReadHeadPositionAsync(CancellationToken cancellationToken) => inner.ReadHeadPositionAsync(cancellationToken);
    }
}
