using System.CommandLine;
using EventSourcing.Projections;
using EventSourcing.Storage;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace EventSourcing.Cli;

/// <summary>
/// The <c>projections</c> verbs any application gets with one call: <c>list</c>, <c>status</c>, <c>rebuild</c> and
/// <c>verify</c>, run in the application's own process against its own registrations and store.
/// Exit codes: 0 done, 1 failed (or verify found differences), 2 bad usage.
/// </summary>
public static partial class ProjectionsCommand
{
    /// <summary>The first argument that selects these verbs.</summary>
    public const string Verb = "projections";

    /// <summary>Exit code: done.</summary>
    public const int Done = 0;

    /// <summary>Exit code: failed, or verify found differences.</summary>
    public const int Failed = 1;

    /// <summary>Exit code: bad usage (unknown verb, option or projection).</summary>
    public const int BadUsage = 2;

    /// <summary>
    /// Runs the verb in <paramref name="args"/> when the first argument is <c>projections</c> and returns its exit code;
    /// returns null otherwise, so the application starts normally. In <c>Program.cs</c>:
    /// <code>if (await app.Services.RunProjectionsCommandAsync(args) is { } exitCode) return exitCode;</code>
    /// </summary>
    public static async Task<int?> RunProjectionsCommandAsync(this IServiceProvider services, string[] args, IAnsiConsole? console = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(args);
        if (args.Length == 0 || args[0] != Verb)
        {
            return null;
        }

        console ??= AnsiConsole.Console;
        if (!console.Profile.Capabilities.Interactive)
        {
            console.Profile.Width = 4096; // redirected output: whole lines, for scripts and logs
        }
        var context = new CliContext(services, console);
        var root = new RootCommand("Projection maintenance: list, status, rebuild, verify.") { ListCommand(context), StatusCommand(context), RebuildCommand(context), VerifyCommand(context) };
        var parsed = root.Parse(args[1..]);
        var output = new SpectreWriter(console);
        var configuration = new InvocationConfiguration { Output = output, Error = output, EnableDefaultExceptionHandler = false };
        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors)
            {
                console.MarkupLineInterpolated($"[red]{error.Message}[/]");
            }

            console.WriteLine("Usage: projections list | status | rebuild <name>... | --all | verify <name>... | --all  (--help for more)");
            return BadUsage;
        }

        try
        {
            return await parsed.InvokeAsync(configuration, cancellationToken).ConfigureAwait(false);
        }
        catch (UnknownProjectionException unknown)
        {
            console.MarkupLineInterpolated($"[red]{unknown.Message}[/]");
            return BadUsage;
        }
        catch (UsageException usage)
        {
            console.MarkupLineInterpolated($"[red]{usage.Message}[/]");
            return BadUsage;
        }
        catch (OperationCanceledException)
        {
            console.MarkupLine("[yellow]Interrupted. A rebuild resumes from its checkpoint when run again.[/]");
            return Failed;
        }
        catch (Exception exception) when (exception is EventStoreUnavailableException or InvalidOperationException or ProjectionFailedException || exception.GetType().Name.Contains("Npgsql", StringComparison.Ordinal) || exception.GetType().Name.Contains("Postgres", StringComparison.Ordinal))
        {
            console.MarkupLineInterpolated($"[red]{exception.GetType().Name}: {exception.Message}[/]");
            return Failed;
        }
    }

    /// <summary>What the verbs share: the application's services and the console.</summary>
    private sealed record CliContext(IServiceProvider Services, IAnsiConsole Console)
    {
        public ProjectionCatalog Catalog => Services.GetRequiredService<ProjectionCatalog>();

        public bool IsInMemory => Services.GetRequiredService<IEventStore>() is InMemoryEventStore;

        /// <summary>The registrations named, or all of them with <c>--all</c>; bad usage when neither or both.</summary>
        public IReadOnlyList<ProjectionRegistration> Select(string[] names, bool all)
        {
            if (all == (names.Length > 0))
            {
                throw new UsageException($"Name the projections, or use --all. Known projections: {string.Join(", ", Catalog.All.Select(r => r.Name))}.");
            }

            return all ? Catalog.All : [.. names.Select(Catalog.Get)];
        }

        public void WarnInMemory()
        {
            if (IsInMemory)
            {
                Console.MarkupLine("[yellow]The store is in memory: this process sees only its own events, so these verbs are useful only in-process (configure PostgreSQL for real use).[/]");
            }
        }
    }

    private sealed class UsageException(string message) : Exception(message);

    /// <summary>Routes System.CommandLine's own output (help, errors) to the console.</summary>
    private sealed class SpectreWriter(IAnsiConsole console) : StringWriter(System.Globalization.CultureInfo.InvariantCulture)
    {
        public override void Write(char value) => console.Profile.Out.Writer.Write(value);

        public override void Write(string? value) => console.Profile.Out.Writer.Write(value);

        public override void WriteLine(string? value) => console.Profile.Out.Writer.WriteLine(value);
    }
}
