using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using EventSourcing.Benchmarks.Harness;

namespace EventSourcing.Benchmarks.Scenarios;

/// <summary>
/// <c>POST /reservations</c> against the sample API on loopback (Kestrel, its own process), on the in-memory store and
/// on PostgreSQL: first the most it sustains with a fixed number of concurrent clients (closed loop), then a steady
/// open-loop load at half that rate, whose latencies count from each request's scheduled start (no coordinated omission).
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
        var warmup = TimeSpan.FromSeconds(context.Size(5, 1));
        var results = new Dictionary<string, (double Max, LatencyResult Steady)>(StringComparer.Ordinal);
        foreach (var store in new[] { "memory", "postgres" })
        {
            var postgres = store == "postgres" ? await context.CreateDatabaseAsync("bench_http", cancellationToken).ConfigureAwait(false) : null;
            await using var app = await sample.StartAsync(postgres, context, cancellationToken).ConfigureAwait(false);
            using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256, PooledConnectionLifetime = Timeout.InfiniteTimeSpan }) { BaseAddress = app.Address, Timeout = TimeSpan.FromSeconds(30) };
            var load = new ReservationLoad(client);
            await load.ClosedLoopAsync(Clients, warmup, cancellationToken).ConfigureAwait(false);
            var max = await load.ClosedLoopAsync(Clients, duration, cancellationToken).ConfigureAwait(false);
            context.Log($"{store}: {max.Rate:N0} requests/s with {Clients} clients ({max.Failures} failures)");
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
            report.Add(new ResultRow($"{store}: at half rate ({steady.Rate:N0}/s) p50", steady.Requests, steady.P50, "ms"));
            report.Add(new ResultRow($"{store}: at half rate p99", steady.Requests, steady.P99, "ms"));
            report.Add(new ResultRow($"{store}: at half rate max", steady.Requests, steady.Max, "ms"));
            report.Add(new ResultRow($"{store}: at half rate, failures", steady.Requests, steady.Failures, "requests"));
        }

        var pg = results["postgres"];
        report.Add(new ResultRow("postgres max / memory max", 0, pg.Max / results["memory"].Max, "ratio"));
        report.Check(">= 3,000 requests/s on PostgreSQL", $"{pg.Max:N0} requests/s", pg.Max >= 3_000);
        report.Check("p99 <= 10 ms at half that rate (PostgreSQL)", $"{pg.Steady.P99:0.0} ms at {pg.Steady.Rate:N0}/s", pg.Steady.P99 <= 10);
        report.Check("no failed requests", $"{results.Values.Sum(r => r.Steady.Failures)} failed at half rate", results.Values.All(r => r.Steady.Failures == 0));
        report.Notes.Add($"sample built {SampleApp.Configuration}, Kestrel on 127.0.0.1, Development environment, write rate limit off; load generator in this process, {Clients} keep-alive clients; every request a new reservation with its own Idempotency-Key, days spread over a year; the confirmation reactor runs meanwhile");
        return report;
    }

    public sealed record ThroughputResult(long Requests, long Failures, double Rate);

    public sealed record LatencyResult(long Requests, long Failures, double Rate, double P50, double P99, double Max);

    /// <summary>Places reservations: each request a new guest, a new key and a day within the coming year.</summary>
    private sealed class ReservationLoad(HttpClient client)
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _failures = new(StringComparer.Ordinal);
        private long _sequence;

        /// <summary>What the failed requests got so far: a status code, or the exception's type.</summary>
        public string Failures => _failures.IsEmpty ? "none" : string.Join(", ", _failures.OrderBy(f => f.Key, StringComparer.Ordinal).Select(f => $"{f.Key} x{f.Value}"));

        public async Task<ThroughputResult> ClosedLoopAsync(int clients, TimeSpan duration, CancellationToken cancellationToken)
        {
            long requests = 0, failures = 0;
            var watch = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(
                async () =>
                {
                    while (watch.Elapsed < duration)
                    {
                        var ok = await PlaceAsync(cancellationToken).ConfigureAwait(false);
                        Interlocked.Increment(ref requests);
                        if (!ok)
                        {
                            Interlocked.Increment(ref failures);
                        }
                    }
                },
                cancellationToken))).ConfigureAwait(false);
            return new ThroughputResult(requests, failures, requests / watch.Elapsed.TotalSeconds);
        }

        public async Task<LatencyResult> OpenLoopAsync(double rate, TimeSpan duration, CancellationToken cancellationToken)
        {
            var total = (long)(rate * duration.TotalSeconds);
            var latencies = new double[total];
            long failures = 0;
            var running = new List<Task>((int)Math.Min(total, int.MaxValue));
            var watch = Stopwatch.StartNew();
            for (long i = 0; i < total; i++)
            {
                var scheduled = TimeSpan.FromSeconds(i / rate);
                var wait = scheduled - watch.Elapsed;
                if (wait > TimeSpan.FromMilliseconds(1))
                {
                    await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
                }

                var index = i;
                running.Add(Task.Run(
                    async () =>
                    {
                        var ok = await PlaceAsync(cancellationToken).ConfigureAwait(false);
                        latencies[index] = (watch.Elapsed - scheduled).TotalMilliseconds;
                        if (!ok)
                        {
                            Interlocked.Increment(ref failures);
                        }
                    },
                    cancellationToken));
            }

            await Task.WhenAll(running).ConfigureAwait(false);
            var elapsed = watch.Elapsed.TotalSeconds;
            Array.Sort(latencies);
            return new LatencyResult(total, failures, total / elapsed, Rounds.Percentile(latencies, 50), Rounds.Percentile(latencies, 99), latencies.Length > 0 ? latencies[^1] : double.NaN);
        }

        private bool Failed(string kind)
        {
            _failures.AddOrUpdate(kind, 1, (_, count) => count + 1);
            return false;
        }

        private async Task<bool> PlaceAsync(CancellationToken cancellationToken)
        {
            var n = Interlocked.Increment(ref _sequence);
            using var request = new HttpRequestMessage(HttpMethod.Post, "/reservations")
            {
                Content = JsonContent.Create(new
                {
                    guestId = Guid.NewGuid(),
                    guestName = $"Guest {n}",
                    guestEmail = $"guest{n}@example.com",
                    guestPhone = "+44 20 7946 0000",
                    day = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(1 + (int)(n % 360)),
                    partySize = 1 + (int)(n % 4),
                }),
            };
            request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString());
            try
            {
                using var response = await client.SendAsync(request, cancellationToken).ConfigureAwait(false);
                return response.StatusCode == HttpStatusCode.Accepted || Failed(((int)response.StatusCode).ToString(CultureInfo.InvariantCulture));
            }
            catch (HttpRequestException exception)
            {
                return Failed($"{nameof(HttpRequestException)} ({exception.HttpRequestError})");
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return Failed("client timeout (30 s)");
            }
        }
    }

    /// <summary>The sample API's build output, started as its own process on a free loopback port.</summary>
    private sealed class SampleApp(string assembly)
    {
#if DEBUG
        public const string Configuration = "Debug";
#else
        public const string Configuration = "Release";
#endif

        public static async Task<SampleApp> LocateAsync(BenchmarkContext context, CancellationToken cancellationToken)
        {
            if (context.SampleAssembly is { } built)
            {
                return File.Exists(built) ? new SampleApp(built) : throw new InvalidOperationException($"--sample: {built} does not exist.");
            }

            var root = Program.RepositoryRoot();
            var project = Path.Combine(root, "samples", "Reservations", "Reservations.csproj");
            var assembly = Path.Combine(root, "samples", "Reservations", "bin", Configuration, "net10.0", "Reservations.dll");
            context.Log($"building the sample ({Configuration})...");
            var build = new ProcessStartInfo(RebuildScenario.DotnetHost()) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var argument in new[] { "build", project, "-c", Configuration, "--nologo", "-v", "q" })
            {
                build.ArgumentList.Add(argument);
            }

            using var process = Process.Start(build) ?? throw new InvalidOperationException("Could not run dotnet build.");
            var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            return process.ExitCode == 0 && File.Exists(assembly)
                ? new SampleApp(assembly)
                : throw new InvalidOperationException($"Building the sample failed: {await output.ConfigureAwait(false)}");
        }

        public async Task<RunningApp> StartAsync(string? postgres, BenchmarkContext context, CancellationToken cancellationToken)
        {
            var port = FreePort();
            var info = new ProcessStartInfo(RebuildScenario.DotnetHost()) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            info.ArgumentList.Add(assembly);
            info.ArgumentList.Add("--urls");
            info.ArgumentList.Add($"http://127.0.0.1:{port}");
            info.Environment["ASPNETCORE_ENVIRONMENT"] = "Development";
            info.Environment["Logging__LogLevel__Default"] = "Warning";
            info.Environment["ConnectionStrings__Postgres"] = postgres ?? string.Empty;
            foreach (var (key, value) in SampleSettings)
            {
                info.Environment[key] = value;
            }

            var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start the sample.");
            var app = new RunningApp(process, new Uri($"http://127.0.0.1:{port}"));
            try
            {
                await app.WaitUntilHealthyAsync(TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
                context.Log($"sample started on {app.Address} ({(postgres is null ? "in-memory store" : "PostgreSQL")})");
                return app;
            }
            catch
            {
                await app.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }

        /// <summary>The sample's settings for a throughput run: the write rate limit off (it would measure the limiter).</summary>
        private static readonly Dictionary<string, string> SampleSettings = new(StringComparer.Ordinal)
        {
            ["RateLimiting__Writes__Enabled"] = "false",
        };

        private static int FreePort()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
    }

    private sealed class RunningApp(Process process, Uri address) : IAsyncDisposable
    {
        private readonly Task<string> _errors = process.StandardError.ReadToEndAsync();
        private readonly Task<string> _output = process.StandardOutput.ReadToEndAsync();

        public Uri Address { get; } = address;

        public async Task WaitUntilHealthyAsync(TimeSpan timeout, CancellationToken cancellationToken)
        {
            using var client = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(5) };
            var watch = Stopwatch.StartNew();
            using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(200));
            while (watch.Elapsed < timeout)
            {
                if (process.HasExited)
                {
                    throw new InvalidOperationException($"The sample exited with {process.ExitCode}: {await _errors.ConfigureAwait(false)}{await _output.ConfigureAwait(false)}");
                }

                try
                {
                    using var response = await client.GetAsync(new Uri("/health", UriKind.Relative), cancellationToken).ConfigureAwait(false);
                    if (response.IsSuccessStatusCode)
                    {
                        return;
                    }
                }
                catch (HttpRequestException)
                {
                    // not listening yet
                }

                await tick.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false);
            }

            throw new TimeoutException($"The sample did not become healthy within {timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s.");
        }

        /// <summary>Stops the sample and returns what it wrote (its log: warnings and errors).</summary>
        public async Task<string> StopAsync()
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync().ConfigureAwait(false);
            }

            return await _output.ConfigureAwait(false) + await _errors.ConfigureAwait(false);
        }

        public async ValueTask DisposeAsync()
        {
            await StopAsync().ConfigureAwait(false);
            process.Dispose();
        }
    }
}
