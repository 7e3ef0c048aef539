using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using EventSourcing.Benchmarks.Harness;

namespace EventSourcing.Benchmarks.Scenarios;

/// <summary>
/// What one placement costs the database, counted by PostgreSQL itself, and how fast the confirmation reactor decides
/// reservations. The sample API runs in its own process on a server that loads <c>pg_stat_statements</c>, three times:
/// first to time the reactor through held-back backlogs; then twice alike, from before it starts until after it has
/// stopped, once idle and once placing reservations at a fixed pace until the reactor and the views have caught up. The
/// difference between those two is what the placements cost.
/// </summary>
public static partial class RoundTripsScenario
{
    public const string Name = "roundtrips";

    /// <summary>
    /// The pace of the counted placements: one every 100 ms, one at a time, whatever the machine's speed. Slow enough that
    /// the reactor and the views handle each placement before the next arrives: how many statements the views' daemon and
    /// the log readers spend per placement depends on how many events they find waiting, so a faster pace, or a slower
    /// machine, would batch more and count fewer. (A quick run goes faster: its figures mean nothing anyway.)
    /// </summary>
    private static readonly TimeSpan Pace = TimeSpan.FromMilliseconds(100);

    private static readonly TimeSpan CatchUpTimeout = TimeSpan.FromMinutes(3);

    public static async Task<ScenarioReport> RunAsync(BenchmarkContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var sizes = new Sizes(
            WarmUp: context.Size(50, 3),
            WarmUpBurst: context.Size(300, 0),
            Burst: context.Size(1_000, 10),
            ReactorRounds: context.Size(3, 1),
            CountedWarmUp: context.Size(20, 2),
            Placements: context.Size(200, 10),
            Interval: context.Quick ? Pace / 5 : Pace,
            Slack: TimeSpan.FromMilliseconds(context.Size(5_000, 300)));
        var server = await context.CountingServerAsync(cancellationToken).ConfigureAwait(false);
        var report = new ScenarioReport(Name, context.Quick) { Machine = await BenchmarkContext.DescribeAsync(server, cancellationToken).ConfigureAwait(false) };
        var sample = await SampleApp.LocateAsync(context, cancellationToken).ConfigureAwait(false);
        var database = await BenchmarkContext.CreateDatabaseAsync(server, "bench_roundtrips", cancellationToken).ConfigureAwait(false);
        var counter = await StatementCounter.PrepareAsync(server.ConnectionString, database, cancellationToken).ConfigureAwait(false);
        var observer = await SampleObserver.CreateAsync(server.ConnectionString, database, cancellationToken).ConfigureAwait(false);
        await using var disposeObserver = observer.ConfigureAwait(false);
        var logs = new StringBuilder();
        var run = new Run(context, sample, database, observer, logs);

        var (rounds, views) = await run.ReactorAsync(sizes, cancellationToken).ConfigureAwait(false);

        // The two counted runs last alike: the idle one for as long as the placements take at their pace, with time for
        // the reactor and the views to catch up; the placements run until the sample has run as long as in the idle one.
        await counter.ResetAsync(cancellationToken).ConfigureAwait(false);
        var idle = await run.CountedAsync(counter, sizes, 0, new Length((sizes.Interval * sizes.Placements) + sizes.Slack, null), cancellationToken).ConfigureAwait(false);
        var busy = await run.CountedAsync(counter, sizes, sizes.Placements, new Length(null, idle.Running - idle.BeforeStart), cancellationToken).ConfigureAwait(false);

        Report(report, sizes, idle, busy, observer.Role, rounds, views);
        Directory.CreateDirectory(context.ResultsDirectory);
        var logFile = Path.Combine(context.ResultsDirectory, $"{Name}-sample-{(context.Quick ? "quick-" : string.Empty)}{report.StartedAt:yyyyMMdd-HHmmss}.log");
        await File.WriteAllTextAsync(logFile, logs.ToString(), cancellationToken).ConfigureAwait(false);
        context.Log($"the sample's log is in {logFile}");
        return report;
    }

    private sealed record Sizes(int WarmUp, int WarmUpBurst, int Burst, int ReactorRounds, int CountedWarmUp, int Placements, TimeSpan Interval, TimeSpan Slack);

    /// <summary>How long a counted run goes on: a phase after the warm-up, or a running time from the sample's start.</summary>
    private sealed record Length(TimeSpan? Phase, TimeSpan? Running);

    /// <summary>
    /// One counted run of the sample, from the reading before it started to the reading after every session of it had
    /// ended (a server process reports its transactions late, up to 10 s after going idle, but at once as it ends).
    /// </summary>
    /// <param name="Counts">What PostgreSQL counted, from the reading before the start to the reading after the last session ended.</param>
    /// <param name="Looks">The observer's looks, in that time.</param>
    /// <param name="Accepted">The placements accepted (202), warm-up left out.</param>
    /// <param name="Decided">Reservations decided, warm-up left out.</param>
    /// <param name="Placements">The placements' pace, none in the idle run.</param>
    /// <param name="Busy">From the first placement until the last was decided and in the views.</param>
    /// <param name="BeforeStart">From the first reading to the sample's start.</param>
    /// <param name="Running">From the first reading to the sample's stop.</param>
    private sealed record CountedRun(DatabaseCounts Counts, long Looks, long Accepted, long Decided, ThroughputResult? Placements, TimeSpan Busy, TimeSpan BeforeStart, TimeSpan Running);

    /// <summary>Starts the sample and drives it; its log goes to <c>logs</c>.</summary>
    private sealed class Run(BenchmarkContext context, SampleApp sample, string database, SampleObserver observer, StringBuilder logs)
    {
        private long _placed;

        /// <summary>A warm-up (placements, then an untimed held-back backlog), then <see cref="Sizes.ReactorRounds"/> held-back backlogs for the reactor, then the sample's own view of its projections.</summary>
        public async Task<(IReadOnlyList<ReactorRun> Rounds, ViewsCheck Views)> ReactorAsync(Sizes sizes, CancellationToken cancellationToken)
        {
            var adminKey = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
            var app = await sample.StartAsync(database, context, new Dictionary<string, string>(StringComparer.Ordinal) { ["Admin__ApiKey"] = adminKey }, cancellationToken).ConfigureAwait(false);
            await using (app.ConfigureAwait(false))
            {
                using var client = Client(app);
                var load = new ReservationLoad(client);
                var warmUp = await load.PlaceAsync(sizes.WarmUp, 4, cancellationToken).ConfigureAwait(false);
                _placed += warmUp.Requests - warmUp.Failures;
                await observer.WaitUntilCaughtUpAsync(_placed, TimeSpan.FromMilliseconds(50), CatchUpTimeout, cancellationToken).ConfigureAwait(false);
                if (sizes.WarmUpBurst > 0)
                {
                    // An untimed round first: in the first timed ones the sample (and its bursts) were still getting faster.
                    _placed = (await MeasureReactorAsync(context, observer, load, sizes.WarmUpBurst, _placed, cancellationToken).ConfigureAwait(false)).Decided;
                }

                var rounds = new List<ReactorRun>();
                for (var round = 0; round < sizes.ReactorRounds; round++)
                {
                    rounds.Add(await MeasureReactorAsync(context, observer, load, sizes.Burst, _placed, cancellationToken).ConfigureAwait(false));
                    _placed = rounds[^1].Decided;
                }

                var views = await CheckViewsAsync(client, adminKey, cancellationToken).ConfigureAwait(false);
                logs.AppendLine("== reactor run").AppendLine(await app.StopAsync().ConfigureAwait(false));
                return (rounds, views);
            }
        }

        /// <summary>
        /// Starts the sample, warms it up with <see cref="Sizes.CountedWarmUp"/> placements at the pace, places
        /// <paramref name="placements"/> at the pace and waits until they are decided and in the views, and stops it once
        /// <paramref name="length"/> is over (idle for the rest) — counted from before the start to after the last session ended.
        /// </summary>
        public async Task<CountedRun> CountedAsync(StatementCounter counter, Sizes sizes, int placements, Length length, CancellationToken cancellationToken)
        {
            await observer.CloseAsync().ConfigureAwait(false);
            await counter.WaitUntilDisconnectedAsync(TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
            var start = await counter.ReadAsync(cancellationToken).ConfigureAwait(false);
            var looks = observer.Looks;
            var beforeStart = counter.Now - start.At;
            var app = await sample.StartAsync(database, context, cancellationToken).ConfigureAwait(false);
            await using (app.ConfigureAwait(false))
            {
                using var client = Client(app);
                var load = new ReservationLoad(client);
                var warmUp = await load.PacedAsync(sizes.CountedWarmUp, sizes.Interval, cancellationToken).ConfigureAwait(false);
                _placed += warmUp.Requests - warmUp.Failures;
                var decidedBefore = (await observer.WaitUntilCaughtUpAsync(_placed, TimeSpan.FromMilliseconds(50), CatchUpTimeout, cancellationToken).ConfigureAwait(false)).Decided;
                var warmedUp = counter.Now - start.At;
                var watch = Stopwatch.StartNew();
                var decided = decidedBefore;
                ThroughputResult? placed = null;
                if (placements > 0)
                {
                    placed = await load.PacedAsync(placements, sizes.Interval, cancellationToken).ConfigureAwait(false);
                    _placed += placed.Requests - placed.Failures;
                    decided = (await observer.WaitUntilCaughtUpAsync(_placed, TimeSpan.FromMilliseconds(50), CatchUpTimeout, cancellationToken).ConfigureAwait(false)).Decided;
                }

                var busy = watch.Elapsed;
                var left = length.Phase is { } phase ? phase - busy : length.Running!.Value - (counter.Now - start.At - beforeStart);
                if (left > TimeSpan.Zero)
                {
                    await Task.Delay(left, cancellationToken).ConfigureAwait(false); // idle for the rest, as long as the other run
                }

                var stoppedAt = counter.Now - start.At;
                logs.AppendLine(CultureInfo.InvariantCulture, $"== counted run, {placements} placements").AppendLine(await app.StopAsync().ConfigureAwait(false));
                await observer.CloseAsync().ConfigureAwait(false);
                await counter.WaitUntilDisconnectedAsync(TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
                var counts = (await counter.ReadAsync(cancellationToken).ConfigureAwait(false)).Since(start);
                var accepted = placed is null ? 0 : placed.Requests - placed.Failures;
                context.Log(placements == 0
                    ? $"idle run: the sample ran {(stoppedAt - beforeStart).TotalSeconds:0.0} s, {(stoppedAt - warmedUp).TotalSeconds:0.0} s of it idle after the warm-up; counted over {counts.At.TotalSeconds:0.0} s"
                    : $"placements run: {accepted} of {placements} placed at {placed!.Rate:N0}/s, decided and in the views {busy.TotalSeconds:0.0} s after the first; the sample ran {(stoppedAt - beforeStart).TotalSeconds:0.0} s; counted over {counts.At.TotalSeconds:0.0} s");
                return new CountedRun(counts, observer.Looks - looks, accepted, decided - decidedBefore, placed, busy, beforeStart, stoppedAt);
            }
        }

        private static HttpClient Client(RunningApp app) =>
            new(new SocketsHttpHandler { MaxConnectionsPerServer = 64, PooledConnectionLifetime = Timeout.InfiniteTimeSpan }) { BaseAddress = app.Address, Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>
    /// Holds the reactor back (a lock on its checkpoint) while <paramref name="burst"/> reservations are placed by 16
    /// clients, lets it go, and times it until it has decided them all and passed its own events, looking every 20 ms.
    /// </summary>
    private static async Task<ReactorRun> MeasureReactorAsync(BenchmarkContext context, SampleObserver observer, ReservationLoad load, int burst, long decidedBefore, CancellationToken cancellationToken)
    {
        ThroughputResult placed;
        SampleProgress held;
        var hold = await observer.HoldReactorAsync(cancellationToken).ConfigureAwait(false);
        await using (hold.ConfigureAwait(false))
        {
            placed = await load.PlaceAsync(burst, 16, cancellationToken).ConfigureAwait(false);
            held = await observer.ReadAsync(cancellationToken).ConfigureAwait(false);
        }

        var watch = Stopwatch.StartNew();
        var expected = decidedBefore + placed.Requests - placed.Failures;
        var samples = new List<(TimeSpan At, SampleProgress Progress)> { (TimeSpan.Zero, held) };
        await Poll.UntilAsync(
            async token =>
            {
                var progress = await observer.ReadAsync(token).ConfigureAwait(false);
                samples.Add((watch.Elapsed, progress));
                return progress.Decided >= expected && progress.Reactor == progress.Head; // decided, and past its own events too
            },
            TimeSpan.FromMilliseconds(20),
            CatchUpTimeout,
            $"the reactor to decide {expected - held.Decided:N0} held-back reservations and reach the head of the log",
            cancellationToken).ConfigureAwait(false);
        var run = new ReactorRun(placed, held, samples, expected);
        context.Log($"reactor: {run.Backlog:N0} reservations waiting after a burst of {burst:N0} at {placed.Rate:N0}/s; decided in {run.LastDecision.At.TotalSeconds:0.00} s: {run.DecisionsPerSecond:N0}/s; at the head after {run.Samples[^1].At.TotalSeconds:0.00} s: {run.EventsPerSecond:N0} events/s");
        await observer.WaitUntilCaughtUpAsync(expected, TimeSpan.FromMilliseconds(50), CatchUpTimeout, cancellationToken).ConfigureAwait(false);
        return run;
    }

    /// <summary>The sample's own view of its projections (<c>GET /admin/projections</c>): every one without lag or dead letters.</summary>
    private static async Task<ViewsCheck> CheckViewsAsync(HttpClient client, string adminKey, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/admin/projections");
        request.Headers.Add("X-Api-Key", adminKey);
        using var response = await client.SendAsync(request, cancellationToken).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        using var statuses = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false), cancellationToken: cancellationToken).ConfigureAwait(false);
        var all = statuses.RootElement.EnumerateArray().Select(s => (Name: s.GetProperty("name").GetString(), Lag: s.GetProperty("lag").GetInt64(), DeadLetters: s.GetProperty("deadLetters").GetInt32())).ToList();
        return new ViewsCheck(
            string.Join("; ", all.Select(s => $"{s.Name}: lag {s.Lag}, {s.DeadLetters} dead letters")),
            all.Count > 0 && all.All(s => s.Lag == 0 && s.DeadLetters == 0));
    }
}
