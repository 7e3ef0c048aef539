using EventSourcing.Deciders;
using EventSourcing.Events;
using EventSourcing.Marten.Tests.Hosting;
using EventSourcing.Storage;
using EventSourcing.Testing.Contracts.Domain;
using EventSourcing.Tests.Shared.Postgres;
using EventSourcing.Testing.Contracts.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace EventSourcing.Marten.Tests.Storage;

public sealed class MartenConcurrencyTests(PostgresFixture postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Sixty_four_concurrent_writers_through_the_decider_handler_are_all_applied_once_in_versions_1_to_64()
    {
        await using var services = MartenStoreFixture.BuildServices(await postgres.CreateDatabaseAsync("hot_stream", Ct), registry => TallyDecider.Register(registry));
        var store = services.GetRequiredService<IEventStore>();
        var handler = new DeciderHandler<TallyCommand, TallyEvent, Tally>(
            TallyDecider.Decider, store, Microsoft.Extensions.Options.Options.Create(new CommandHandlingOptions { MaxConflictRetries = 500 }));
        await handler.HandleAsync("tally-hot", new AddToTally("hot", 1, "warm-up"), Ct); // creates the schema
        using var start = new ManualResetEventSlim();

        var writers = Enumerable.Range(2, 64).Select(amount => Task.Run(async () =>
        {
            start.Wait(Ct);
            return await handler.HandleAsync("tally-hot", new AddToTally("hot", amount, "n", Guid.NewGuid()), Ct);
        })).ToArray();
        start.Set();
        var results = await Task.WhenAll(writers);

        var events = await store.ReadStreamAsync("tally-hot", 1, Ct).ToListAsync(Ct);
        Assert.Equal(Enumerable.Range(1, 65).Select(v => (long)v), events.Select(e => e.StreamVersion));
        Assert.Equal(Enumerable.Range(2, 64), events.Skip(1).Select(e => ((TallyIncreased)e.Data).Amount).Order());
        Assert.Equal(Enumerable.Range(2, 64).Select(v => (long)v), results.Select(r => r.StreamVersion).Order());
        Assert.Equal(Enumerable.Range(1, 65).Sum(), ((TallyIncreased)events[^1].Data).Total);
    }

    /// <summary>
    /// Each node's decider handler keeps the stream's folded state in its own cache; the other node's appends make it
    /// stale. Every decision must still be on the stream as it is: the read after the cached version folds what the other
    /// node appended, and the append's expected version refuses a decision on a state that moved meanwhile. A stale
    /// decision shows as an event whose total is not the running sum.
    /// </summary>
    [Fact]
    public async Task Two_nodes_deciding_on_one_stream_through_their_own_state_caches_lose_no_update()
    {
        await using var nodes = await MartenNodes.StartAsync(await postgres.CreateDatabaseAsync("two_node_cache", Ct), es =>
        {
            TallyDecider.Register(es.Events);
            es.AddDecider(TallyDecider.Decider).ConfigureCommands(o => o.MaxConflictRetries = 500);
        });
        var handlers = nodes.All.Select(n => n.Host.Services.GetRequiredService<DeciderHandler<TallyCommand, TallyEvent, Tally>>()).ToArray();
        await handlers[0].HandleAsync("tally-shared", new AddToTally("shared", 1, "warm-up"), Ct);
        await handlers[1].HandleAsync("tally-shared", new AddToTally("shared", 1, "warm-up"), Ct); // both caches hold the stream
        using var start = new ManualResetEventSlim();

        var writers = Enumerable.Range(0, 40).Select(i => Task.Run(async () =>
        {
            start.Wait(Ct);
            return await handlers[i % 2].HandleAsync("tally-shared", new AddToTally("shared", 2 + i, "n", Guid.NewGuid()), Ct);
        })).ToArray();
        start.Set();
        await Task.WhenAll(writers);

        var events = await nodes.A.Store.ReadStreamAsync("tally-shared", 1, Ct).ToListAsync(Ct);
        var running = 0;
        var wrong = events.Select(e => (TallyIncreased)e.Data).Where(e => (running += e.Amount) != e.Total).ToList();
        Assert.Equal(42, events.Count);
        Assert.Empty(wrong);
        Assert.Equal(2 + Enumerable.Range(2, 40).Sum(), running);
    }

    [Fact]
    public async Task Eight_writers_of_10_000_events_are_read_back_exactly_once_in_position_order_live_and_after()
    {
        const int Writers = 8, PerWriter = 10_000, Batch = 50;
        await using var services = MartenStoreFixture.BuildServices(await postgres.CreateDatabaseAsync("eight_writers", Ct), registry => ContractEvents.Registry(registry));
        var store = services.GetRequiredService<IEventStore>();
        await store.AppendAsync("warm-up", ExpectedVersion.NoStream, [ContractEvents.Thing(-1)], EventMetadata.Empty, Ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromMinutes(5));
        var live = store.SubscribeAllAsync(2, timeout.Token).Take(Writers * PerWriter).ToListAsync(timeout.Token).AsTask();

        await Task.WhenAll(Enumerable.Range(0, Writers).Select(writer => Task.Run(async () =>
        {
            for (var first = 0; first < PerWriter; first += Batch)
            {
                var events = Enumerable.Range(first, Batch).Select(i => (object)new ThingHappened($"writer-{writer}", i)).ToArray();
                await store.AppendAsync($"writer-{writer}", ExpectedVersion.Any, events, EventMetadata.Empty, Ct);
            }
        })));
        var followed = await live;
        var read = await store.ReadAllAsync(0, Ct).Skip(1).ToListAsync(Ct);

        foreach (var events in new[] { followed, read })
        {
            Assert.Equal(Writers * PerWriter, events.Count);
            Assert.Equal(Writers * PerWriter, events.Select(e => (((ThingHappened)e.Data).Name, ((ThingHappened)e.Data).Number)).Distinct().Count());
            Assert.True(events.Zip(events.Skip(1)).All(pair => pair.First.Position < pair.Second.Position), "positions are not strictly increasing");
            foreach (var writer in events.GroupBy(e => e.StreamId))
            {
                Assert.Equal(Enumerable.Range(0, PerWriter), writer.Select(e => ((ThingHappened)e.Data).Number));
            }
        }

        Assert.Equal(read.Select(e => e.EventId), followed.Select(e => e.EventId));
    }
}
