using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using EventSourcing.Benchmarks.Domain;
using EventSourcing.Benchmarks.Harness;
using EventSourcing.Cli;
using EventSourcing.Events;
using EventSourcing.Storage;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace EventSourcing.Benchmarks.Scenarios;

/// <summary>
/// Rebuild of a projection with the projection tool (<c>projections rebuild day-seats --yes</c>) over logs of growing
/// size, each in a process of its own so its peak working set is the rebuild's: on PostgreSQL the log is seeded first;
/// in memory the worker seeds its own log and the peak is reset before the rebuild starts.
/// </summary>
public static class RebuildScenario
{
    public const string Name = "rebuild";
    public const string WorkerVerb = "rebuild-worker";
    private const string ResultPrefix = "RESULT ";

    public static async Task<ScenarioReport> RunAsync(BenchmarkContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        int[] sizes = context.Quick ? [1_000, 4_000] : [10_000, 100_000, 1_000_000];
        var report = new ScenarioReport(Name, context.Quick) { Machine = await context.DescribeAsync(withPostgres: true, cancellationToken).ConfigureAwait(false) };
        var results = new List<WorkerResult>();
        foreach (var size in sizes)
        {
            var connectionString = await context.CreateDatabaseAsync($"bench_rebuild_{size}", cancellationToken).ConfigureAwait(false);
            context.Log($"seeding {size:N0} events on PostgreSQL...");
            var seeding = Apps.Build(connectionString);
            await using (seeding.ConfigureAwait(false))
            {
                await Apps.PrepareAsync(seeding, cancellationToken).ConfigureAwait(false);
                await SeedAsync(seeding.GetRequiredService<IEventStore>(), size, personal: false, cancellationToken).ConfigureAwait(false);
            }

            foreach (var store in new[] { "postgres", "memory" })
            {
                context.Log($"rebuilding {size:N0} events ({store}) in a worker process...");
                var result = await RunWorkerAsync(store, size, store == "postgres" ? connectionString : null, cancellationToken).ConfigureAwait(false);
                results.Add(result);
                report.Add(new ResultRow($"{store} rebuild", size, result.EventsPerSecond, "events/s"));
                report.Add(new ResultRow($"{store} peak working set", size, WorkingSet.Megabytes(result.PeakWorkingSet), "MB"));
                if (store == "memory")
                {
                    report.Add(new ResultRow("memory: the log itself (working set before rebuild)", size, WorkingSet.Megabytes(result.StartWorkingSet), "MB"));
                }
            }
        }

        var largest = sizes[^1];
        var growthBase = sizes.Length > 1 ? sizes[^2] : sizes[0];
        WorkerResult At(string store, int size) => results.Single(r => r.Store == store && r.Events == size);
        var pg = At("postgres", largest);
        var memory = At("memory", largest);
        report.Check($">= 100,000 events/s on PostgreSQL ({largest:N0} events)", $"{pg.EventsPerSecond:N0} events/s", pg.EventsPerSecond >= 100_000);
        report.Check($">= 1,000,000 events/s in memory ({largest:N0} events)", $"{memory.EventsPerSecond:N0} events/s", memory.EventsPerSecond >= 1_000_000);
        report.Check("peak working set <= 300 MB (PostgreSQL)", $"{WorkingSet.Megabytes(pg.PeakWorkingSet):N0} MB", WorkingSet.Megabytes(pg.PeakWorkingSet) <= 300);
        var pgGrowth = WorkingSet.Megabytes(pg.PeakWorkingSet - At("postgres", growthBase).PeakWorkingSet);
        report.Check($"peak flat from {growthBase:N0} to {largest:N0} events (PostgreSQL, within 50 MB)", $"{pgGrowth:+0;-0} MB", pgGrowth <= 50);
        var memoryOverhead = WorkingSet.Megabytes(memory.PeakWorkingSet - memory.StartWorkingSet);
        var memoryOverheadBase = WorkingSet.Megabytes(At("memory", growthBase).PeakWorkingSet - At("memory", growthBase).StartWorkingSet);
        report.Check("rebuild's own memory <= 300 MB above the log (in memory)", $"{memoryOverhead:N0} MB", memoryOverhead <= 300);
        report.Check($"rebuild's own memory flat from {growthBase:N0} to {largest:N0} events (in memory, within 50 MB)", $"{memoryOverhead - memoryOverheadBase:+0;-0} MB", memoryOverhead - memoryOverheadBase <= 50);
        report.Notes.Add("projection day-seats (365 views); each rebuild runs the projection tool in a fresh process; events/s = events / wall time of the verb");
        report.Notes.Add("in memory the log lives in the process, so its working set grows with the log; the rebuild's own memory is the peak above it");
        return report;
    }

    /// <summary>Appends <paramref name="count"/> ledger events, 1,000 per stream and transaction.</summary>
    public static async Task SeedAsync(IEventStore store, int count, bool personal, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        const int batch = 1_000;
        for (var start = 0; start < count; start += batch)
        {
            var events = Enumerable.Range(start, Math.Min(batch, count - start)).Select(i => Ledger.Event(i, personal)).ToArray();
            await store.AppendAsync($"seed-{start / batch}", ExpectedVersion.NoStream, events, EventMetadata.Empty, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The worker: seeds (in memory) or opens (PostgreSQL) the log, rebuilds with the projection tool, prints its figures.</summary>
    public static async Task<int> WorkerAsync(string store, int events, string? postgres, CancellationToken cancellationToken)
    {
        var services = Apps.Build(store == "postgres" ? postgres ?? throw new ArgumentException("--postgres is required for the postgres store.") : null);
        await Apps.PrepareAsync(services, cancellationToken).ConfigureAwait(false);
        if (store == "memory")
        {
            await SeedAsync(services.GetRequiredService<IEventStore>(), events, personal: false, cancellationToken).ConfigureAwait(false);
        }

        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        var start = WorkingSet.Current();
        WorkingSet.ResetPeak();
        var quiet = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(TextWriter.Null), Interactive = InteractionSupport.No });
        var watch = Stopwatch.StartNew();
        var exit = await services.RunProjectionsCommandAsync(["projections", "rebuild", "day-seats", "--yes"], quiet, cancellationToken).ConfigureAwait(false);
        watch.Stop();
        if (exit != ProjectionsCommand.Done)
        {
            await Console.Error.WriteLineAsync($"The rebuild exited with {exit}.").ConfigureAwait(false);
            return 1;
        }

        var result = new WorkerResult(store, events, watch.Elapsed.TotalSeconds, events / watch.Elapsed.TotalSeconds, start, Math.Max(WorkingSet.Peak(), start));
        Console.WriteLine(ResultPrefix + JsonSerializer.Serialize(result));
        return 0;
    }

    private static async Task<WorkerResult> RunWorkerAsync(string store, int events, string? postgres, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(DotnetHost()) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(typeof(RebuildScenario).Assembly.Location);
        foreach (var argument in new[] { WorkerVerb, "--store", store, "--events", events.ToString(CultureInfo.InvariantCulture) })
        {
            info.ArgumentList.Add(argument);
        }

        if (postgres is not null)
        {
            info.ArgumentList.Add("--postgres");
            info.ArgumentList.Add(postgres);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start the rebuild worker.");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        var line = (await output.ConfigureAwait(false)).Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.StartsWith(ResultPrefix, StringComparison.Ordinal));
        return process.ExitCode == 0 && line is not null
            ? JsonSerializer.Deserialize<WorkerResult>(line[ResultPrefix.Length..])!
            : throw new InvalidOperationException($"The rebuild worker failed (exit {process.ExitCode}): {await error.ConfigureAwait(false)}");
    }

    /// <summary>The <c>dotnet</c> executable running this process (or the one on the PATH).</summary>
    public static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host
        : Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path
        : "dotnet";

    public sealed record WorkerResult(string Store, int Events, double Seconds, double EventsPerSecond, long StartWorkingSet, long PeakWorkingSet);
}
