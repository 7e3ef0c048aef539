using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json;
using EventSourcing.Events;
using EventSourcing.Projections;
using EventSourcing.Reactors;
using EventSourcing.Storage;
using EventSourcing.Testing.Contracts.Domain;
using EventSourcing.Testing.Contracts.Privacy;
using Microsoft.Extensions.Logging;

namespace EventSourcing.Core.Tests.Reactors;

/// <summary>The reactor runner under failures: of the reactor on one event, and of the store it follows.</summary>
public sealed class ReactorRunnerTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task An_event_the_reactor_fails_on_is_retried_in_place_until_it_succeeds_and_no_event_is_skipped_or_repeated()
    {
        var store = Store();
        var reactor = new RecordingReactor(expected: 3, failuresAt: new Dictionary<long, int> { [2] = 3 });
        await AppendAsync(store, 3);
        using var logs = new LogCollector();
        var checkpoints = new InMemoryProjectionStore(JsonSerializerOptions.Web);

        await using (await RunAsync(reactor, store, checkpoints, logs))
        {
            await reactor.Done.WaitAsync(Patience, Ct);
        }

        Assert.Equal([1, 2, 3], reactor.Handled);
        Assert.Equal(4, reactor.Attempts[2]);
        Assert.Equal(3, logs.Lines.Count(l => l.Contains("Reactor recording failed on the event at position 2", StringComparison.Ordinal)));
        Assert.Equal(3, (await checkpoints.ReadStateAsync(ReactorRunner.CheckpointName(reactor), Ct)).ServingPosition);
    }

    [Fact]
    public async Task A_reactor_whose_store_is_unavailable_keeps_retrying_and_resumes_from_its_checkpoint_when_the_store_returns()
    {
        var store = new UnavailableWhileDown(Store()) { Down = true };
        var reactor = new RecordingReactor(expected: 3);
        await AppendAsync(store, 2);
        using var logs = new LogCollector();

        await using (await RunAsync(reactor, store, new InMemoryProjectionStore(JsonSerializerOptions.Web), logs))
        {
            await store.Refused(3).WaitAsync(Patience, Ct);
            Assert.Empty(reactor.Handled);
            store.Down = false;
            await AppendAsync(store, 1);
            await reactor.Done.WaitAsync(Patience, Ct);
        }

        Assert.Equal([1, 2, 3], reactor.Handled);
        Assert.Contains(logs.Lines, l => l.Contains(nameof(EventStoreUnavailableException), StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_event_that_cannot_be_read_is_skipped_with_an_error_logged_and_a_dead_letter_kept()
    {
        var store = Store();
        var reactor = new RecordingReactor(expected: 2);
        await AppendAsync(store, 1);
        await store.AppendSerializedAsync("tally-r", ExpectedVersion.Any, [new SerializedEvent("tally-renamed.v9", "{}"u8.ToArray())], EventMetadata.Empty);
        await AppendAsync(store, 1);
        using var logs = new LogCollector();
        var checkpoints = new InMemoryProjectionStore(JsonSerializerOptions.Web);

        await using (await RunAsync(reactor, store, checkpoints, logs))
        {
            await reactor.Done.WaitAsync(Patience, Ct);
        }

        Assert.Equal([1, 3], reactor.Handled);
        var letter = Assert.Single(await checkpoints.ReadDeadLettersAsync(ReactorRunner.CheckpointName(reactor), Ct));
        Assert.Equal((2, "tally-renamed.v9"), (letter.Position, letter.EventType));
        Assert.StartsWith(nameof(UnknownEventTypeException), letter.Error, StringComparison.Ordinal);
        Assert.Contains(logs.Lines, l => l.StartsWith("Error", StringComparison.Ordinal) && l.Contains("skipped the event at position 2", StringComparison.Ordinal));
    }

    private static InMemoryEventStore Store()
    {
        var registry = new EventTypeRegistry();
        TallyDecider.Register(registry);
        return new InMemoryEventStore(new SystemTextJsonEventSerializer(registry));
    }

    private static async Task AppendAsync(IEventStore store, int count)
    {
        for (var i = 0; i < count; i++)
        {
            await store.AppendAsync("tally-r", ExpectedVersion.Any, [new TallyIncreased(1, i + 1)], EventMetadata.Empty, Ct);
        }
    }

    private static async Task<IAsyncDisposable> RunAsync(Reactor reactor, IEventReader events, IProjectionStore checkpoints, LogCollector logs)
    {
        var factory = LoggerFactory.Create(builder => builder.AddProvider(logs));
        var runner = new ReactorRunner([reactor], new ReactorCatalog([]), events, checkpoints, new LocalLeaderElection("test"), new EventTypeRegistry(), new ReactorActivity(), TimeProvider.System, factory.CreateLogger<ReactorRunner>());
        await runner.StartAsync(Ct);
        return new Stopping(runner, factory);
    }

    private sealed class Stopping(ReactorRunner runner, ILoggerFactory factory) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await runner.StopAsync(CancellationToken.None);
            runner.Dispose();
            factory.Dispose();
        }
    }

    /// <summary>Records the positions it handled; throws on the first attempts at the positions given.</summary>
    private sealed class RecordingReactor(int expected, IReadOnlyDictionary<long, int>? failuresAt = null) : Reactor
    {
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override string Name => "recording";

        public ConcurrentQueue<long> Handled { get; } = new();

        public ConcurrentDictionary<long, int> Attempts { get; } = new();

        public Task Done => _done.Task;

        public override Task ReactAsync(EventEnvelope envelope, CancellationToken cancellationToken)
        {
            var attempt = Attempts.AddOrUpdate(envelope.Position, 1, (_, n) => n + 1);
            if (attempt <= (failuresAt?.GetValueOrDefault(envelope.Position) ?? 0))
            {
                throw new InvalidOperationException($"Failing on position {envelope.Position}, attempt {attempt}.");
            }

            Handled.Enqueue(envelope.Position);
            if (Handled.Count == expected)
            {
                _done.TrySetResult();
            }

            return Task.CompletedTask;
        }
    }

    /// <summary>The store as the reactor sees it while its database is down: every read of the log refused.</summary>
    private sealed class UnavailableWhileDown(InMemoryEventStore inner) : IEventStore
    {
        private readonly ConcurrentDictionary<int, TaskCompletionSource> _waiters = new();
        private volatile bool _down;
        private int _refused;

        public bool Down
        {
            get => _down;
            set => _down = value;
        }

        /// <summary>Completes once <paramref name="count"/> reads have been refused.</summary>
        public Task Refused(int count)
        {
            var waiter = _waiters.GetOrAdd(count, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            if (Volatile.Read(ref _refused) >= count)
            {
                waiter.TrySetResult();
            }

            return waiter.Task;
        }

        public Task<AppendResult> AppendAsync(string streamId, ExpectedVersion expectedVersion, IReadOnlyList<object> events, EventMetadata metadata, CancellationToken cancellationToken) =>
            inner.AppendAsync(streamId, expectedVersion, events, metadata, cancellationToken);

        public IAsyncEnumerable<EventEnvelope> ReadStreamAsync(string streamId, long fromVersion, CancellationToken cancellationToken) => inner.ReadStreamAsync(streamId, fromVersion, cancellationToken);

        public IAsyncEnumerable<EventEnvelope> ReadAllAsync(long fromPosition, CancellationToken cancellationToken) => inner.ReadAllAsync(fromPosition, cancellationToken);

        public async IAsyncEnumerable<LogPage> FollowAsync(long fromPosition, IReadOnlySet<string>? eventTypes, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await Task.Yield();
            if (Down)
            {
                var refused = Interlocked.Increment(ref _refused);
                foreach (var (count, waiter) in _waiters)
                {
                    if (count <= refused)
                    {
                        waiter.TrySetResult();
                    }
                }

                throw new EventStoreUnavailableException("The test store is down.");
            }

            await foreach (var page in inner.FollowAsync(fromPosition, eventTypes, cancellationToken))
            {
                yield return page;
            }
        }

        public Task<long> ReadHeadPositionAsync(CancellationToken cancellationToken) => inner.ReadHeadPositionAsync(cancellationToken);
    }
}
