using System.CommandLine;
using EventSourcing.Projections;
using EventSourcing.Storage;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace EventSourcing.Cli;

/// <summary>
/// The <c>followers</c> verbs any application gets with one call, for the followers of the log (projections and
/// reactors): <c>list</c>, <c>status</c>, <c>rebuild</c>, <c>verify</c> and <c>replay</c>, run in the application's own
/// process against its own registrations and store. <c>projections</c>, the group's former name, selects the same verbs.
/// Exit codes: 0 done, 1 failed (or verify found differences), 2 bad usage.
/// </summary>
public static partial class FollowersCommand
{
    /// <summary>The first argument that selects these verbs.</summary>
    public const string Verb = "followers";

    /// <summary>The group's former name, which selects the same verbs.</summary>
    public const string ProjectionsVerb = "projections";

    /// <summary>Exit code: done.</summary>
    public const int Done = 0;

    /// <summary>Exit code: failed, or verify found differences.</summary>
    public const int Failed = 1;

    /// <summary>Exit code: bad usage (unknown verb, option, projection or reactor; a position out of range).</summary>
    public const int BadUsage = 2;

    /// <summary>Whether <paramref name="args"/> select these verbs (the first is <c>followers</c> or <c>projections</c>).</summary>
    public static bool Handles(IReadOnlyList<string> args) => args is [Verb or ProjectionsVerb, ..];

    /// <summary>
    /// Runs the verb in <paramref name="args"/> when the first argument is <c>followers</c> (or <c>projections</c>) and
    /// returns its exit code; returns null otherwise, so the application starts normally. In <c>Program.cs</c>:
    /// <code>if (await app.Services.RunFollowersCommandAsync(args) is { } exitCode) return exitCode;</code>
    /// With <see cref="UseFollowersCommandLogging"/> on the application's builder, its log lines go to standard error and
    /// standard output holds the verb's output alone.
    /// </summary>
    public static async Task<int?> RunFollowersCommandAsync(this IServiceProvider services, string[] args, IAnsiConsole? console = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(args);
        if (!Handles(args))
        {
            return null;
        }

        console ??= AnsiConsole.Console;
        if (!console.Profile.Capabilities.Interactive)
        {
            console.Profile.Width = 4096; // redirected output: whole lines, for scripts and logs
        }
        var context = new CliContext(services, console);
        var root = new RootCommand("Maintenance of the log's followers, projections and reactors: list, status, dead-letters, rebuild, verify, replay.")
        {
            ListCommand(context), StatusCommand(context), DeadLettersCommand(context), RebuildCommand(context), VerifyCommand(context), ReplayCommand(context),
        };
        var parsed = root.Parse(args[1..]);
        var output = new SpectreWriter(console);
        var configuration = new InvocationConfiguration { Output = output, Error = output, EnableDefaultExceptionHandler = false };
        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors)
            {
                console.MarkupLineInterpolated($"[red]{error.Message}[/]");
            }

            console.WriteLine($"Usage: {args[0]} list | status | dead-letters <name> | rebuild <name>... | --all | verify <name>... | --all | replay <reactor> --from <position>  (--help for more)");
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
