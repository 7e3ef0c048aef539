using System.Diagnostics;
using EventSourcing.Benchmarks.Harness;
using Npgsql;

namespace EventSourcing.Benchmarks.Scenarios;

/// <summary>
/// Forwarding lag under the <c>http</c> scenario's load: the sample API on PostgreSQL, forwarding its own log to the
/// broker (<c>Nats:Url</c>), driven as <see cref="HttpScenario"/> drives it: a warm-up at full rate with 32 clients, the
/// most it sustains with them, then an open-loop load at half that rate. During the full-rate and the half-rate phases,
/// an ordered JetStream consumer in this process records, for every event the broker stored, the time from its store
/// timestamp to its arrival; every 100 ms the log's head is compared with the forwarder's committed checkpoint (read from
/// the sample's database). At the end every event of the log must be in the broker once. The baseline, in the same run:
/// the sample alike, not forwarding, under the same load.
/// </summary>
public static partial class ForwardingScenario
{
    private const string HttpStream = "LAGHTTP";
    private const int HttpClients = 32;

    private static async Task LagUnderHttpAsync(BenchmarkContext context, ScenarioReport report, Broker broker, CancellationToken cancellationToken)
    {
        var sample = await SampleApp.LocateAsync(context, cancellationToken).ConfigureAwait(false);
        var duration = TimeSpan.FromSeconds(context.Size(15, 2));
        var warmup = TimeSpan.FromSeconds(context.Size(30, 1));

        // The baseline, in the same run: the sample alike, on a database of its own, not forwarding.
        var (plainFull, plainHalf) = await DriveSampleAsync(context, sample, "bench_forwarding_http_plain", settings: null, warmup, duration, measure: null, settle: null, cancellationToken).ConfigureAwait(false);
        context.Log($"the sample without forwarding: {plainFull.Rate:N0} requests/s with {HttpClients} clients; at {plainHalf.Rate:N0}/s p50 {plainHalf.P50:0.0} ms, p99 {plainHalf.P99:0.0} ms");

        await broker.CreateAsync(HttpStream, cancellationToken).ConfigureAwait(false);
        try
        {
            var settings = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["Nats__Url"] = broker.Url,
                ["Nats__StreamName"] = HttpStream,
                ["Nats__SubjectPrefix"] = HttpStream.ToLowerInvariant(),
            };
            var lags = new List<HttpLag>();
            var (logged, stored) = (-1L, 0L);
            var (full, half) = await DriveSampleAsync(
                context,
                sample,
                "bench_forwarding_http",
                settings,
                warmup,
                duration,
                async (database, phase) =>
                {
                    var lag = await MeasureLagAsync(broker, database, phase, cancellationToken).ConfigureAwait(false);
                    lags.Add(lag);
                    return lag.Load;
                },
                async database => (logged, stored) = await CaughtUpAsync(broker, database, cancellationToken).ConfigureAwait(false),
                cancellationToken).ConfigureAwait(false);
            context.Log($"the sample forwarding: {full.Rate:N0} requests/s with {HttpClients} clients (store to consumer p99 {lags[0].P(99):0.0} ms); at {half.Rate:N0}/s p50 {half.P50:0.0} ms, p99 {half.P99:0.0} ms (store to consumer p50 {lags[1].P(50):0.0} ms, p99 {lags[1].P(99):0.0} ms)");

            foreach (var (setup, phases) in new[] { ("the sample without forwarding (baseline)", (plainFull, plainHalf)), ("the sample forwarding", (full, half)) })
            {
                report.Add(new ResultRow($"http load, {setup}: max, {HttpClients} clients", phases.Item1.Requests, phases.Item1.Rate, "requests/s"));
                report.Add(new ResultRow($"http load, {setup}: max, the sample's CPU per request", phases.Item1.Requests, phases.Item1.SampleCpuMs, "ms"));
                report.Add(new ResultRow($"http load, {setup}: at half rate ({phases.Item2.Rate:N0}/s) p50", phases.Item2.Requests, phases.Item2.P50, "ms"));
                report.Add(new ResultRow($"http load, {setup}: at half rate p99", phases.Item2.Requests, phases.Item2.P99, "ms"));
                report.Add(new ResultRow($"http load, {setup}: failed requests", phases.Item1.Requests + phases.Item2.Requests, phases.Item1.Failures + phases.Item2.Failures, "requests"));
            }

            if (plainFull.Rate > 0)
            {
                report.Add(new ResultRow("http load: max forwarding / max not forwarding", full.Requests, full.Rate / plainFull.Rate, "ratio"));
            }
            foreach (var (phase, lag) in new[] { ($"full rate, {HttpClients} clients", lags[0]), ("half rate", lags[1]) })
            {
                var label = $"lag under the http load at {phase}, PostgreSQL";
                report.Add(new ResultRow($"{label}: events forwarded", lag.Latencies.Length, lag.Latencies.Length / duration.TotalSeconds, "events/s"));
                AddPercentiles(report, label, "store timestamp to consumer arrival", lag.Latencies, "ms");
                AddPercentiles(report, label, "head - committed checkpoint, every 100 ms", lag.CheckpointLag, "positions");
                AddPercentiles(report, label, "age of the newest event read from the broker, every 100 ms", lag.NewestAge, "ms");
            }

            report.Check("lag under the http load: every event of the log in the broker once", $"{stored:N0} messages for {logged:N0} events", stored == logged);
            report.Notes.Add($"lag under the http load: the sample ({SampleApp.Configuration}) on PostgreSQL with Nats:Url set, forwarding its log to the stream {HttpStream}, and before it the sample alike without forwarding, each on a database of its own; the http scenario's load ({warmup.TotalSeconds:0} s warm-up and {duration.TotalSeconds:0} s at full rate with {HttpClients} clients, then {duration.TotalSeconds:0} s open-loop at half that rate); every event the sample appends is forwarded (placements, and the reactor's holds and decisions)");
        }
        finally
        {
            await broker.DeleteAsync(HttpStream, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Starts the sample on a new database and drives it as the http scenario does: a warm-up at full rate, the full rate
    /// measured, then an open-loop load at half that rate. <paramref name="measure"/>, when given, runs each measured phase;
    /// <paramref name="settle"/> runs after the load, before the sample stops.
    /// </summary>
    private static async Task<(PhaseLoad Full, PhaseLoad Half)> DriveSampleAsync(
        BenchmarkContext context, SampleApp sample, string database, IReadOnlyDictionary<string, string>? settings, TimeSpan warmup, TimeSpan duration,
        Func<string, Func<Task<PhaseLoad>>, Task<PhaseLoad>>? measure, Func<string, Task>? settle, CancellationToken cancellationToken)
    {
        var postgres = await context.CreateDatabaseAsync(database, cancellationToken).ConfigureAwait(false);
        await using var app = await sample.StartAsync(postgres, context, settings, cancellationToken).ConfigureAwait(false);
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256, PooledConnectionLifetime = Timeout.InfiniteTimeSpan }) { BaseAddress = app.Address, Timeout = TimeSpan.FromSeconds(30) };
        var load = new ReservationLoad(client);
        measure ??= (_, phase) => phase();
        await load.ClosedLoopAsync(HttpClients, warmup, cancellationToken).ConfigureAwait(false);
        var cpu = app.ProcessorTime;
        var full = await measure(postgres, async () => PhaseLoad.Of(await load.ClosedLoopAsync(HttpClients, duration, cancellationToken).ConfigureAwait(false))).ConfigureAwait(false);
        full = full with { SampleCpuMs = (app.ProcessorTime - cpu).TotalMilliseconds / Math.Max(1, full.Requests) };
        var half = await measure(postgres, async () => PhaseLoad.Of(await load.OpenLoopAsync(full.Rate / 2, duration, cancellationToken).ConfigureAwait(false))).ConfigureAwait(false);
        if (settle is not null)
        {
            await settle(postgres).ConfigureAwait(false);
        }

        await app.StopAsync().ConfigureAwait(false);
        return (full, half);
    }

    /// <summary>Runs <paramref name="load"/> while recording the arrival of every event the broker stores meanwhile and sampling the forwarder's checkpoint.</summary>
    private static async Task<HttpLag> MeasureLagAsync(Broker broker, string postgres, Func<Task<PhaseLoad>> load, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var consumer = new ArrivalRecorder((int)await broker.CountAsync(HttpStream, cancellationToken).ConfigureAwait(false));
        var consuming = Task.Run(() => consumer.ConsumeAsync(broker.JetStream, HttpStream, stop.Token), CancellationToken.None);
        var checkpointLag = new List<double>();
        var newestAge = new List<double>();
        var sampling = Task.Run(
            async () =>
            {
                await using var connection = new NpgsqlConnection(postgres);
                await connection.OpenAsync(stop.Token).ConfigureAwait(false);
                await using var command = new NpgsqlCommand(
                    "select coalesce((select max(seq_id) from mt_events), 0), coalesce((select max((data->>'position')::bigint) from mt_doc_generationcheckpoint where id like 'reactor:forwarder/%'), 0)",
                    connection);
                using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
                while (await tick.WaitForNextTickAsync(stop.Token).ConfigureAwait(false))
                {
                    await using var reader = await command.ExecuteReaderAsync(stop.Token).ConfigureAwait(false);
                    await reader.ReadAsync(stop.Token).ConfigureAwait(false);
                    checkpointLag.Add(Math.Max(0, reader.GetInt64(0) - reader.GetInt64(1)));
                    if (consumer.Newest is { } newest)
                    {
                        newestAge.Add((DateTimeOffset.UtcNow - newest).TotalMilliseconds);
                    }
                }
            },
            CancellationToken.None);
        try
        {
            var result = await load().ConfigureAwait(false);
            return new HttpLag(result, [.. consumer.Latencies.Order()], [.. checkpointLag.Order()], [.. newestAge.Order()]);
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await IgnoreCancellationAsync(sampling).ConfigureAwait(false);
            await IgnoreCancellationAsync(consuming).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Once the load has stopped, the reactor's last decisions are appended and the forwarder catches up: waits until the
    /// log has stood still for half a second with the broker holding as many messages; returns both counts.
    /// </summary>
    private static async Task<(long Logged, long Stored)> CaughtUpAsync(Broker broker, string postgres, CancellationToken cancellationToken)
    {
        var (logged, stored) = (-1L, 0L);
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < Patience)
        {
            var before = logged;
            logged = await CountLoggedAsync(postgres, cancellationToken).ConfigureAwait(false);
            stored = await broker.CountAsync(HttpStream, cancellationToken).ConfigureAwait(false);
            if (logged == before && stored >= logged)
            {
                break;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken).ConfigureAwait(false);
        }

        return (logged, stored);
    }

    private static async Task<long> CountLoggedAsync(string postgres, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(postgres);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand("select count(*) from mt_events where stream_id <> 'mt_tombstone'", connection);
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <summary>The p50, p99 and max of <paramref name="sorted"/>; nothing when nothing was measured (a short quick run).</summary>
    private static void AddPercentiles(ScenarioReport report, string label, string what, double[] sorted, string unit)
    {
        if (sorted.Length == 0)
        {
            return;
        }

        report.Add(new ResultRow($"{label}: {what}, p50", sorted.Length, Rounds.Percentile(sorted, 50), unit));
        report.Add(new ResultRow($"{label}: {what}, p99", sorted.Length, Rounds.Percentile(sorted, 99), unit));
        report.Add(new ResultRow($"{label}: {what}, max", sorted.Length, sorted[^1], unit));
    }

    /// <summary>What one phase's load did: requests sent, failed, their rate; at a fixed rate their latencies; the sample's CPU per request.</summary>
    private sealed record PhaseLoad(long Requests, long Failures, double Rate, double P50 = double.NaN, double P99 = double.NaN, double SampleCpuMs = double.NaN)
    {
        public static PhaseLoad Of(ThroughputResult result) => new(result.Requests, result.Failures, result.Rate);

        public static PhaseLoad Of(LatencyResult result) => new(result.Requests, result.Failures, result.Rate, result.P50, result.P99);
    }

    /// <summary>One phase's load and what was measured of the forwarder meanwhile (each list sorted).</summary>
    private sealed record HttpLag(PhaseLoad Load, double[] Latencies, double[] CheckpointLag, double[] NewestAge)
    {
        public double P(double percentile) => Rounds.Percentile(Latencies, percentile);
    }
}
