using System.CommandLine;
using EventSourcing.Benchmarks.Harness;
using EventSourcing.Benchmarks.Scenarios;
using Spectre.Console;

namespace EventSourcing.Benchmarks;

/// <summary>
/// <c>dotnet run -c Release --project benchmarks/EventSourcing.Benchmarks -- &lt;scenario&gt; [--quick] [--postgres &lt;connection string&gt;] [--results &lt;folder&gt;]</c>
/// where the scenario is append, commands, pipeline, rebuild, crypto, crypto-parts, http, roundtrips, forwarding or all.
/// </summary>
public static class Program
{
    private static readonly (string Name, string Description, Func<BenchmarkContext, CancellationToken, Task<ScenarioReport>> Run)[] Scenarios =
    [
        (AppendScenario.Name, "Batched append, 1,000 events per transaction, against raw Marten and binary COPY (PostgreSQL).", AppendScenario.RunAsync),
        (CommandsScenario.Name, "One event per command, 16 callers, full pipeline against hand-written Marten FetchForWriting (PostgreSQL).", CommandsScenario.RunAsync),
        (PipelineScenario.Name, "The in-memory command pipeline against a direct handler call (BenchmarkDotNet, allocations).", PipelineScenario.RunAsync),
        (RebuildScenario.Name, "Rebuild with the projection tool over 10k, 100k and 1M events, PostgreSQL and in memory, with peak working set.", RebuildScenario.RunAsync),
        (CryptoScenario.Name, "Crypto-shredding overhead on append and rebuild, in memory and on PostgreSQL.", CryptoScenario.RunAsync),
        (CryptoScenario.PartsName, "Where an event's crypto-shredding time goes: serialize and deserialize with and without personal data, and AES-GCM alone (BenchmarkDotNet).", CryptoScenario.RunPartsAsync),
        (HttpScenario.Name, "POST /reservations on loopback: sample API on the in-memory store and on PostgreSQL.", HttpScenario.RunAsync),
        (RoundTripsScenario.Name, "Statements and transactions per placement, counted by PostgreSQL (pg_stat_statements), and the reactor's decisions/s (sample API).", RoundTripsScenario.RunAsync),
        (ForwardingScenario.Name, "The forwarder publishing the log to NATS JetStream against the transport alone and raw NATS.Net publishing, and its lag under a steady append load (in memory and PostgreSQL) and under the http scenario's load on the sample (throwaway nats-server).", ForwardingScenario.RunAsync),
    ];

    public static Task<int> Main(string[] args) => RunAsync(args, AnsiConsole.Console, CancellationToken.None);

    /// <summary>Runs the command line in <paramref name="args"/>; the exit code is 0 when every scenario ran (targets met or not), 1 on failure, 2 on bad usage.</summary>
    public static async Task<int> RunAsync(string[] args, IAnsiConsole console, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(console);
        var quick = new Option<bool>("--quick") { Description = "Small sizes: checks that every scenario runs; figures are not meaningful." };
        var postgres = new Option<string?>("--postgres") { Description = $"Connection string of the PostgreSQL server to use (default: {BenchmarkContext.ConnectionStringVariable}, else a throwaway local cluster)." };
        var results = new Option<string?>("--results") { Description = "Folder for the JSON results (default: benchmarks/results)." };
        var sample = new Option<string?>("--sample") { Description = "The sample API's built Reservations.dll for the http and roundtrips scenarios (default: build samples/Reservations)." };
        var root = new RootCommand("EventSourcing benchmarks: each scenario prints a table and writes JSON; comparisons run side by side in one run.");
        var exitCode = 0;
        foreach (var (name, description, run) in Scenarios.Append(("all", "Every scenario, in order.", null!)))
        {
            var command = new Command(name, description) { quick, postgres, results, sample };
            command.SetAction(async (parsed, token) =>
            {
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(token, cancellationToken);
                var context = new BenchmarkContext(parsed.GetValue(quick), console, parsed.GetValue(results) ?? Path.Combine(RepositoryRoot(), "benchmarks", "results"), parsed.GetValue(postgres))
                {
                    SampleAssembly = parsed.GetValue(sample),
                };
                await using (context.ConfigureAwait(false))
                {
                    foreach (var scenario in name == "all" ? Scenarios : Scenarios.Where(s => s.Name == name))
                    {
                        console.MarkupLineInterpolated($"[bold]== {scenario.Name}[/]: {scenario.Description}");
                        var report = await scenario.Run(context, linked.Token).ConfigureAwait(false);
                        report.Print(console);
                        var path = await report.WriteAsync(context.ResultsDirectory, linked.Token).ConfigureAwait(false);
                        console.MarkupLineInterpolated($"results: [blue]{path}[/]");
                    }
                }

                return 0;
            });
            root.Subcommands.Add(command);
        }

        var store = new Option<string>("--store") { Required = true };
        var events = new Option<int>("--events") { Required = true };
        var worker = new Command(RebuildScenario.WorkerVerb, "Internal: one rebuild in this process, for the rebuild scenario.") { store, events, postgres };
        worker.Hidden = true;
        worker.SetAction((parsed, token) => RebuildScenario.WorkerAsync(parsed.GetValue(store)!, parsed.GetValue(events), parsed.GetValue(postgres), token));
        root.Subcommands.Add(worker);

        var parsedArgs = root.Parse(args);
        if (parsedArgs.Errors.Count > 0)
        {
            foreach (var error in parsedArgs.Errors)
            {
                console.MarkupLineInterpolated($"[red]{error.Message}[/]");
            }

            console.WriteLine($"Usage: <{string.Join(" | ", Scenarios.Select(s => s.Name))} | all> [--quick] [--postgres <connection string>] [--results <folder>] [--sample <Reservations.dll>]");
            return 2;
        }

        try
        {
            exitCode = await parsedArgs.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false }, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            console.MarkupLine("[yellow]Cancelled.[/]");
            return 1;
        }
        catch (Exception exception) when (exception is InvalidOperationException or TimeoutException or Npgsql.NpgsqlException)
        {
            console.MarkupLineInterpolated($"[red]{exception.Message}[/]");
            return 1;
        }

        return exitCode;
    }

    /// <summary>The repository root (the folder holding EventSourcing.sln), from the working directory or this assembly's folder.</summary>
    public static string RepositoryRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "EventSourcing.sln")))
                {
                    return directory.FullName;
                }
            }
        }

        return Directory.GetCurrentDirectory();
    }
}
