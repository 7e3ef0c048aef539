using EventSourcing.Core.Tests.Commands;
using EventSourcing.Testing.Contracts.Domain;
using EventSourcing.Deciders;
using EventSourcing.Events;
using EventSourcing.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace EventSourcing.Core.Tests.Deciders;

public sealed class DeciderHandlerTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static InMemoryEventStore NewStore() =>
        new(new SystemTextJsonEventSerializer(TallyDecider.Register(new EventTypeRegistry())));

    [Fact]
    public async Task Sixty_four_concurrent_commands_on_one_stream_are_all_applied_with_versions_1_to_64()
    {
        using var services = Pipeline.Build(options => options.MaxConflictRetries = 200);
        var handler = services.GetRequiredService<DeciderHandler<TallyCommand, TallyEvent, Tally>>();
        using var start = new ManualResetEventSlim();

        var commands = Enumerable.Range(1, 64).Select(i => Task.Run(async () =>
        {
            start.Wait(Ct);
            return await handler.HandleAsync("tally-hot", new AddToTally("hot", i, "n"), Ct);
        })).ToArray();
        start.Set();
        var results = await Task.WhenAll(commands);

        var events = await services.GetRequiredService<IEventStore>().ReadStreamAsync("tally-hot", 1, Ct).ToListAsync(Ct);
        Assert.Equal(Enumerable.Range(1, 64).Select(v => (long)v), events.Select(e => e.StreamVersion));
        Assert.Equal(Enumerable.Range(1, 64).Select(v => (long)v), results.Select(r => r.StreamVersion).Order());
        Assert.Equal(Enumerable.Range(1, 64).Order(), events.Select(e => ((TallyIncreased)e.Data).Amount).Order());
        Assert.Equal(64 * 65 / 2, ((TallyIncreased)events[^1].Data).Total);
    }

    [Fact]
    public async Task A_command_the_decider_refuses_stores_nothing()
    {
        var store = NewStore();
        var handler = new DeciderHandler<TallyCommand, TallyEvent, Tally>(TallyDecider.Decider, store);
        await handler.HandleAsync("tally-x", new CloseTally("x"), Ct);

        await Assert.ThrowsAsync<DomainException>(() => handler.HandleAsync("tally-x", new AddToTally("x", 1, "n"), Ct));

        Assert.Equal(1, await store.ReadHeadPositionAsync(Ct));
    }

    [Fact]
    public async Task A_command_with_nothing_to_do_appends_nothing_and_reports_the_current_version()
    {
        var store = NewStore();
        var handler = new DeciderHandler<TallyCommand, TallyEvent, Tally>(TallyDecider.Decider, store);
        var closed = await handler.HandleAsync("tally-y", new CloseTally("y"), Ct);

        var again = await handler.HandleAsync("tally-y", new CloseTally("y"), Ct);

        Assert.Equal(closed with { AppendedEvents = 0 }, again);
    }

    [Fact]
    public async Task A_command_already_applied_answers_its_first_count_version_and_position_and_says_so()
    {
        var store = NewStore();
        var handler = new DeciderHandler<TallyCommand, TallyEvent, Tally>(TallyDecider.Decider, store);
        var metadata = new EventMetadata { CommandId = Guid.NewGuid() };
        var first = await handler.HandleAsync("tally-r", new AddToTally("r", 2, "n"), metadata, Ct);
        await handler.HandleAsync("tally-r", new AddToTally("r", 3, "other"), Ct);

        var again = await handler.HandleAsync("tally-r", new AddToTally("r", 2, "n"), metadata, Ct);

        Assert.False(first.AlreadyApplied);
        Assert.Equal(first with { AlreadyApplied = true }, again);
        Assert.Equal(2, await store.ReadHeadPositionAsync(Ct));
    }

    [Fact]
    public async Task After_a_conflict_the_command_is_decided_again_on_the_new_state()
    {
        var store = new InterferingStore(NewStore(), interferences: 2);
        var handler = new DeciderHandler<TallyCommand, TallyEvent, Tally>(TallyDecider.Decider, store);

        var result = await handler.HandleAsync("tally-z", new AddToTally("z", 5, "n"), Ct);

        Assert.Equal(3, result.StreamVersion);
        var last = await store.ReadStreamAsync("tally-z", 3, Ct).SingleAsync(Ct);
        Assert.Equal(new TallyIncreased(5, 7), last.Data);
    }

    [Fact]
    public async Task Conflicts_beyond_the_retry_bound_surface_as_a_concurrency_exception()
    {
        var store = new InterferingStore(NewStore(), interferences: 3);
        var options = Options.Create(new CommandHandlingOptions { MaxConflictRetries = 2 });
        var handler = new DeciderHandler<TallyCommand, TallyEvent, Tally>(TallyDecider.Decider, store, options);

        var conflict = await Assert.ThrowsAsync<ConcurrencyException>(() => handler.HandleAsync("tally-w", new AddToTally("w", 5, "n"), Ct));

        Assert.Equal("tally-w", conflict.StreamId);
        Assert.Equal(3, store.Attempts);
    }

    [Fact]
    public async Task A_command_whose_id_is_already_in_the_stream_is_not_decided_again()
    {
        var store = NewStore();
        var handler = new DeciderHandler<TallyCommand, TallyEvent, Tally>(TallyDecider.Decider, store);
        var command = new AddToTally("v", 5, "n", Guid.NewGuid());
        var first = await handler.HandleAsync("tally-v", command, Ct);
        await handler.HandleAsync("tally-v", new CloseTally("v"), Ct);

        var again = await handler.HandleAsync("tally-v", command, Ct);

        Assert.Equal(first with { AlreadyApplied = true }, again);
        Assert.Equal(2, await store.ReadHeadPositionAsync(Ct));
    }

    /// <summary>A store where another writer slips an event in just before each of the first appends.</summary>
    private sealed class InterferingStore(IEventStore inner, int interferences) : IEventStore
    {
        private int _attempts;

        public int Attempts => _attempts;

        public async Task<AppendResult> AppendAsync(string streamId, ExpectedVersion expectedVersion, IReadOnlyList<object> events, EventMetadata metadata, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _attempts) <= interferences)
            {
                await inner.AppendAsync(streamId, ExpectedVersion.Any, [new TallyIncreased(1, (int)expectedVersion.Value + 1)], EventMetadata.Empty, cancellationToken);
            }

            return await inner.AppendAsync(streamId, expectedVersion, events, metadata, cancellationToken);
        }

        public IAsyncEnumerable<EventEnvelope> ReadStreamAsync(string streamId, long fromVersion, CancellationToken cancellationToken) => inner.ReadStreamAsync(streamId, fromVersion, cancellationToken);

        public IAsyncEnumerable<EventEnvelope> ReadAllAsync(long fromPosition, CancellationToken cancellationToken) => inner.ReadAllAsync(fromPosition, cancellationToken);

        public IAsyncEnumerable<LogPage> FollowAsync(long fromPosition, IReadOnlySet<string>? eventTypes, CancellationToken cancellationToken) => inner.FollowAsync(fromPosition, eventTypes, cancellationToken);

        public Task<long> ReadHeadPositionAsync(CancellationToken cancellationToken) => inner.ReadHeadPositionAsync(cancellationToken);
    }
}
