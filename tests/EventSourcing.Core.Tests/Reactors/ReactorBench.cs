using System.Diagnostics;
using System.Text.Json;
using EventSourcing.Events;
using EventSourcing.Projections;
using EventSourcing.Reactors;
using EventSourcing.Storage;
using EventSourcing.Testing.Contracts.Privacy;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace EventSourcing.Core.Tests.Reactors;

/// <summary>A parcel handed to the carrier: the events the reactors under test handle. <paramref name="Label"/> is the event's data a log must never show.</summary>
public sealed record ParcelSent(int Number, string Label);

/// <summary>A parcel scanned on its way: the events of other types, which a reactor filtering on <see cref="ParcelSent"/> must never be given.</summary>
public sealed record ParcelScanned(int Number);

/// <summary>
/// Reactor runners on the in-memory store, with their checkpoints in a counting store, logs collected, and a fake clock
/// that <see cref="UntilAsync"/> moves on while the runners wait (backoffs, elections, replay checks), so a test never
/// waits out a real pause. One election and one checkpoint store for every runner started, as processes sharing a
/// database would have; each runner has its own activity, as each process does.
/// </summary>
internal sealed class ReactorBench : IAsyncDisposable
{
    public const string Stream = "parcels";

    /// <summary>The longest a test waits for a condition (real time).</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>How far the clock moves per step: more than the longest backoff (5 s with a quarter of jitter).</summary>
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(7);

    /// <summary>How long a step waits for the runners to do something before the clock moves again (real time).</summary>
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(20);

    private readonly SemaphoreSlim _pulses = new(0);
    private readonly ILoggerFactory _loggers;
    private readonly List<Runner> _runners = [];

    public ReactorBench(ILeaderElection? election = null)
    {
        Registry = new EventTypeRegistry().Register<ParcelSent>("parcel-sent.v1").Register<ParcelScanned>("parcel-scanned.v1");
        Store = new InMemoryEventStore(new SystemTextJsonEventSerializer(Registry), Time);
        Reader = new WatchedReader(Store);
        Checkpoints = new CountingProjectionStore(new InMemoryProjectionStore(JsonSerializerOptions.Web), Pulse);
        Election = election ?? new LocalLeaderElection("bench");
        _loggers = LoggerFactory.Create(builder => builder.AddProvider(Logs).SetMinimumLevel(LogLevel.Trace));
    }

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));

    public EventTypeRegistry Registry { get; }

    public InMemoryEventStore Store { get; }

    /// <summary>The log as the runners read it.</summary>
    public WatchedReader Reader { get; }

    public CountingProjectionStore Checkpoints { get; }

    public ILeaderElection Election { get; }

    public LogCollector Logs { get; } = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Appends one <see cref="ParcelSent"/>; returns its position.</summary>
    public async Task<long> SendAsync(int number, string? label = null) =>
        (await Store.AppendAsync(Stream, ExpectedVersion.Any, [new ParcelSent(number, label ?? $"parcel {number}")], EventMetadata.Empty, Ct)).Position;

    /// <summary>Appends one <see cref="ParcelScanned"/>; returns its position.</summary>
    public async Task<long> ScanAsync(int number) =>
        (await Store.AppendAsync(Stream, ExpectedVersion.Any, [new ParcelScanned(number)], EventMetadata.Empty, Ct)).Position;

    /// <summary>Starts a runner of <paramref name="reactor"/> (as one more process would), with a status reader of its own process.</summary>
    public async Task<Runner> StartAsync(ScriptedReactor reactor, ReactorOptions? options = null)
    {
        reactor.OnCall = Pulse;
        var activity = new ReactorActivity();
        var catalog = new ReactorCatalog([new ReactorRegistration(reactor.GetType(), options ?? new ReactorOptions())]);
        var runner = new ReactorRunner([reactor], catalog, Reader, Checkpoints, Election, Registry, activity, Time, _loggers.CreateLogger<ReactorRunner>());
        var started = new Runner(runner, StatusOf(reactor, activity), activity.For(reactor.Name), reactor);
        _runners.Add(started);
        await runner.StartAsync(Ct);
        return started;
    }

    /// <summary>
    /// A status reader of a process running <paramref name="reactor"/> with <paramref name="activity"/>, or of another
    /// process sharing the store (one that does not run it) without. It times its waits on the real clock: a test's
    /// timeout is real time, the runners' pauses are not.
    /// </summary>
    public ReactorStatusReader StatusOf(Reactor reactor, ReactorActivity? activity = null) =>
        new([reactor], Checkpoints, Reader, Election, activity ?? new ReactorActivity(), TimeProvider.System);

    /// <summary>Moves the clock on, step by step, until <paramref name="done"/> holds; fails after <see cref="Patience"/>.</summary>
    public async Task UntilAsync(Func<bool> done, string what)
    {
        var waited = Stopwatch.StartNew();
        while (!done())
        {
            if (waited.Elapsed > Patience)
            {
                Assert.Fail($"Waited {Patience.TotalSeconds} s for {what}. The last log lines: {string.Join(Environment.NewLine, Logs.Lines.TakeLast(8))}");
            }

            Time.Advance(Step);
            await _pulses.WaitAsync(Tick, Ct); // something happened, or a runner may be waiting on a timer the step did not reach
        }
    }

    /// <summary>
    /// Waits until the reactor of <paramref name="runner"/> has passed <paramref name="position"/> while moving the clock
    /// on, so that a checkpoint waiting for its interval is committed; false when it does not pass it within the patience.
    /// </summary>
    public async Task<bool> WaitMovingTimeAsync(Runner runner, long position)
    {
        var waiting = runner.WaitForAsync(position, Patience - TimeSpan.FromSeconds(5));
        await UntilAsync(() => waiting.IsCompleted, $"the wait for position {position} to end");
        return await waiting;
    }

    /// <summary>Moves the clock on by <paramref name="span"/> in steps, letting the runners act at each (to see that nothing more happens).</summary>
    public async Task LetTimePassAsync(TimeSpan span)
    {
        for (var passed = TimeSpan.Zero; passed < span; passed += Step)
        {
            Time.Advance(Step);
            await _pulses.WaitAsync(Tick, Ct);
        }
    }

    /// <summary>The error lines the runner logged.</summary>
    public IReadOnlyList<string> Errors => [.. Logs.Lines.Where(l => l.StartsWith("Error", StringComparison.Ordinal))];

    public async ValueTask DisposeAsync()
    {
        foreach (var runner in _runners)
        {
            await runner.DisposeAsync();
        }

        _loggers.Dispose();
        Store.Dispose();
        _pulses.Dispose();
    }

    private void Pulse() => _pulses.Release();

    /// <summary>One running runner, as the process running it sees it.</summary>
    internal sealed class Runner(ReactorRunner runner, ReactorStatusReader status, ReactorProgress progress, ScriptedReactor reactor) : IAsyncDisposable
    {
        private int _stopped;

        public ReactorStatusReader Status { get; } = status;

        public ReactorProgress Progress { get; } = progress;

        public ScriptedReactor Reactor { get; } = reactor;

        /// <summary>The reactor's status row, as this process reports it.</summary>
        public async Task<ProjectionStatus> ReadStatusAsync() => Assert.Single(await Status.ReadAsync(Ct));

        /// <summary>Waits until the reactor has passed <paramref name="position"/>, at most <paramref name="timeout"/> (default <see cref="Patience"/>).</summary>
        public Task<bool> WaitForAsync(long position, TimeSpan? timeout = null) => Status.WaitForAsync(Reactor.Name, position, timeout ?? Patience, Ct);

        /// <summary>Stops the runner (a process shutting down); its leadership goes with it.</summary>
        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _stopped, 1) == 0)
            {
                await runner.StopAsync(CancellationToken.None);
                runner.Dispose();
            }
        }
    }
}
