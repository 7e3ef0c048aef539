using EventSourcing.Benchmarks.Harness;

namespace EventSourcing.Benchmarks.Scenarios;

/// <summary>
/// <c>POST /reservations</c> against the sample API on loopback (Kestrel, its own process), on the in-memory store and
/// on PostgreSQL: first the most it sustains with a fixed number of concurrent clients (closed loop), then a steady
/// open-loop load at half that rate, whose latencies count from each request's scheduled start (no coordinated omission).
/// Each store's phases follow a 30-second warm-up at full rate, so that tiered compilation has optimized the hot code.
/// The CPU time the sample's process and the whole machine used during the full-rate phase is reported per request.
/// Opt-in profile: with the environment variable <c>ES_BENCH_TRACE</c> set to a folder, <c>dotnet-trace</c> (the one on
/// the path, or the one named by <c>ES_BENCH_DOTNET_TRACE</c>) samples the sample's threads during each store's full-rate
/// phase (from its start, for the phase less 2 s) and writes <c>http-trace-{store}-{time}.nettrace</c> and
/// <c>.speedscope.json</c> there (see <c>benchmarks/tools/speedscope_summary.py</c>); the profiler slows the process, so
/// such a run's rates are not the scenario's figures.
/// </summary>
public static class HttpScenario
{
    public const string Name = "http";
    private const int Clients = 32;

    public static async Task<ScenarioReport> RunAsync(BenchmarkContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var report = new ScenarioReport(Name, context.Quick) { Machine = await context.DescribeAsync(withPostgres: true, cancellationToken).ConfigureAwait(false) };
        var sample = await SampleApp.LocateAsync(context, cancellationToken).ConfigureAwait(false);
        var duration = TimeSpan.FromSeconds(context.Size(15, 2));
        // Long enough for tiered compilation to optimize the hot code: after 5 s most of it was still at tier 0 or
        // instrumented, and the process's CPU per request was about twice its steady figure (docs/benchmarks.md).
        var warmup = TimeSpan.FromSeconds(context.Size(30, 1));
        var results = new Dictionary<string, (double Max, LatencyResult Steady)>(StringComparer.Ordinal);
        foreach (var store in new[] { "memory", "postgres" })
        {
            var postgres = store == "postgres" ? await context.CreateDatabaseAsync("bench_http", cancellationToken).ConfigureAwait(false) : null;
            await using var app = await sample.StartAsync(postgres, context, cancellationToken).ConfigureAwait(false);
            using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256, PooledConnectionLifetime = Timeout.InfiniteTimeSpan }) { BaseAddress = app.Address, Timeout = TimeSpan.FromSeconds(30) };
            var load = new ReservationLoad(client);
            await load.ClosedLoopAsync(Clients, warmup, cancellationToken).ConfigureAwait(false);
            var trace = SampleTrace.Start(app.ProcessId, $"http-trace-{store}-{report.StartedAt:yyyyMMdd-HHmmss}", TimeSpan.FromSeconds(Math.Max(1, duration.TotalSeconds - 2)), context);
            var (sampleCpu, machineCpu) = (app.ProcessorTime, CpuSample.Take());
            var max = await load.ClosedLoopAsync(Clients, duration, cancellationToken).ConfigureAwait(false);
            var (sampleMs, machineMs) = ((app.ProcessorTime - sampleCpu).TotalMilliseconds / max.Requests, (CpuSample.Take() - machineCpu).Machine.TotalMilliseconds / max.Requests);
            context.Log($"{store}: {max.Rate:N0} requests/s with {Clients} clients ({max.Failures} failures); CPU per request: the sample {sampleMs:0.00} ms, the machine {machineMs:0.00} ms");
            if (trace is not null)
            {
                await trace.WaitAsync(context).ConfigureAwait(false);
            }

            var steady = await load.OpenLoopAsync(max.Rate / 2, duration, cancellationToken).ConfigureAwait(false);
            context.Log($"{store}: at {steady.Rate:N0} requests/s p50 {steady.P50:0.0} ms, p99 {steady.P99:0.0} ms ({steady.Failures} failures)");
            results[store] = (max.Rate, steady);
            report.Notes.Add($"{store}: failed requests got {load.Failures}");
            var log = await app.StopAsync().ConfigureAwait(false);
            var logFile = Path.Combine(context.ResultsDirectory, $"http-sample-{store}-{report.StartedAt:yyyyMMdd-HHmmss}.log");
            Directory.CreateDirectory(context.ResultsDirectory);
            await File.WriteAllTextAsync(logFile, log, cancellationToken).ConfigureAwait(false);
            context.Log($"{store}: the sample's log is in {logFile}");
            report.Add(new ResultRow($"{store}: max, {Clients} clients", max.Requests, max.Rate, "requests/s"));
            report.Add(new ResultRow($"{store}: max, failures", max.Requests, max.Failures, "requests"));
            report.Add(new ResultRow($"{store}: max, the sample's CPU per request", max.Requests, sampleMs, "ms"));
            report.Add(new ResultRow($"{store}: max, the machine's CPU per request", max.Requests, machineMs, "ms"));
            report.Add(new ResultRow($"{store}: at half rate ({steady.Rate:N0}/s) p50", steady.Requests, steady.P50, "ms"));
            report.Add(new ResultRow($"{store}: at half rate p99", steady.Requests, steady.P99, "ms"));
            report.Add(new ResultRow($"{store}: at half rate max", steady.Requests, steady.Max, "ms"));
            report.Add(new ResultRow($"{store}: at half rate, failures", steady.Requests, steady.Failures, "requests"));
        }

        var pg = results["postgres"];
        report.Add(new ResultRow("postgres max / memory max", 0, pg.Max / results["memory"].Max, "ratio"));
        var ratio = pg.Max / results["memory"].Max;
        report.Check(">= 1,500 requests/s on PostgreSQL", $"{pg.Max:N0} requests/s", pg.Max >= 1_500);
        report.Check("p99 <= 25 ms at half that rate (PostgreSQL)", $"{pg.Steady.P99:0.0} ms at {pg.Steady.Rate:N0}/s", pg.Steady.P99 <= 25);
        report.Check(">= 0.30x the in-memory rate of the same run", $"{ratio:0.00}x", ratio >= 0.30);
        report.Check("no failed requests", $"{results.Values.Sum(r => r.Steady.Failures)} failed at half rate", results.Values.All(r => r.Steady.Failures == 0));
        report.Notes.Add($"sample built {SampleApp.Configuration}, Kestrel on 127.0.0.1, Development environment, write rate limit off; load generator in this process, {Clients} keep-alive clients; every request a new reservation with its own Idempotency-Key, days spread over a year; the confirmation reactor runs meanwhile");
        return report;
    }
}
