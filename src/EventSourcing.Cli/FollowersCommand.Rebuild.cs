using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using EventSourcing.Projections;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace EventSourcing.Cli;

public static partial class FollowersCommand
{
    private static Argument<string[]> NamesArgument() => new("names") { Description = "The projections.", Arity = ArgumentArity.ZeroOrMore };

    private static Option<bool> AllOption() => new("--all") { Description = "Every projection (live ones are skipped: they are folded on read, nothing is stored)." };

    /// <summary>
    /// The stored projections of <paramref name="selected"/>: each live one is left out with a line saying so (unless
    /// <paramref name="quiet"/>), since its views are folded on read and nothing is stored to <paramref name="verb"/>.
    /// </summary>
    private static List<ProjectionRegistration> Stored(CliContext context, IReadOnlyList<ProjectionRegistration> selected, string verb, bool quiet = false)
    {
        if (!quiet)
        {
            foreach (var live in selected.Where(r => r.Lifecycle == ProjectionLifecycle.Live))
            {
                context.Console.MarkupLineInterpolated($"[yellow]{live.Name}[/] is live: its views are folded on read, so there is nothing to {verb}.");
            }
        }

        return [.. selected.Where(r => r.Lifecycle != ProjectionLifecycle.Live)];
    }

    private static Command RebuildCommand(CliContext context)
    {
        var names = NamesArgument();
        var all = AllOption();
        var yes = new Option<bool>("--yes", "-y") { Description = "Do not ask for confirmation (for scripts)." };
        var command = new Command("rebuild", "Rebuilds projections blue/green: the serving views stay readable until the swap; an interrupted rebuild resumes; live projections are skipped.") { names, all, yes };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var requested = context.Select(parse.GetValue(names) ?? [], parse.GetValue(all));
            context.WarnInMemory();
            var selected = Stored(context, requested, "rebuild");
            if (selected.Count == 0)
            {
                return Done;
            }

            if (!parse.GetValue(yes))
            {
                if (!context.Console.Profile.Capabilities.Interactive)
                {
                    throw new UsageException("Rebuilding asks for confirmation, and this is not an interactive terminal: add --yes.");
                }

                if (!await context.Console.ConfirmAsync($"Rebuild {string.Join(", ", selected.Select(r => r.Name))}?", defaultValue: false, cancellationToken).ConfigureAwait(false))
                {
                    context.Console.WriteLine("Nothing rebuilt.");
                    return Done;
                }
            }

            var rebuilder = context.Services.GetRequiredService<ProjectionRebuilder>();
            foreach (var registration in selected)
            {
                var result = await WithProgressAsync(context.Console, $"Rebuilding {registration.Name}", progress => rebuilder.RebuildAsync(registration.Name, progress, cancellationToken)).ConfigureAwait(false);
                context.Console.MarkupLineInterpolated(
                    $"[green]{registration.Name}[/]: rebuilt to position {result.Position}{(result.Resumed ? " (resumed an interrupted rebuild)" : string.Empty)}; generation {result.Generation} now serves.");
            }

            return Done;
        });
        return command;
    }

    private static Command VerifyCommand(CliContext context)
    {
        var names = NamesArgument();
        var all = AllOption();
        var json = JsonOption();
        var command = new Command("verify", "Rebuilds projections into a scratch generation and compares every view with the serving one; exit code 1 when any differs; live projections are skipped.") { names, all, json };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var selected = Stored(context, context.Select(parse.GetValue(names) ?? [], parse.GetValue(all)), "verify", quiet: parse.GetValue(json));
            var verifier = context.Services.GetRequiredService<ProjectionVerifier>();
            var results = new List<VerifyResult>();
            foreach (var registration in selected)
            {
                results.Add(await WithProgressAsync(context.Console, $"Verifying {registration.Name}", progress => verifier.VerifyAsync(registration.Name, progress, cancellationToken), quiet: parse.GetValue(json)).ConfigureAwait(false));
            }

            if (parse.GetValue(json))
            {
                await context.Console.Profile.Out.Writer.WriteLineAsync(JsonSerializer.Serialize(results, Json)).ConfigureAwait(false);
            }
            else
            {
                foreach (var result in results)
                {
                    if (result.Equal)
                    {
                        context.Console.MarkupLineInterpolated($"[green]{result.Projection}[/]: equal ({result.Compared} views, hash {result.Hash[..16]}).");
                    }
                    else
                    {
                        var first = string.Join(", ", result.DifferingIds.Take(10));
                        context.Console.MarkupLineInterpolated($"[red]{result.Projection}[/]: {result.DifferingIds.Count} of {result.Compared} views differ; first: {first}");
                    }
                }
            }

            return results.TrueForAll(r => r.Equal) ? Done : Failed;
        });
        return command;
    }

    /// <summary>
    /// Runs <paramref name="work"/> with a live progress bar (events done, total, events per second, time left) on a
    /// terminal, or plain progress lines at most once a second when output is redirected.
    /// </summary>
    private static async Task<T> WithProgressAsync<T>(IAnsiConsole console, string title, Func<IProgress<RebuildProgress>, Task<T>> work, bool quiet = false)
    {
        if (!console.Profile.Capabilities.Interactive)
        {
            var lines = new PlainProgress(console, title, quiet);
            var result = await work(lines).ConfigureAwait(false);
            lines.Finish();
            return result;
        }

        T outcome = default!;
        await console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async progress =>
            {
                var task = progress.AddTask(Markup.Escape(title), maxValue: 1);
                outcome = await work(new Progress<RebuildProgress>(report =>
                {
                    task.MaxValue = Math.Max(1, report.Head);
                    task.Value = report.Position;
                    task.Description = Markup.Escape($"{title}: {report.Position:N0} / {report.Head:N0} events, {report.EventsPerSecond:N0}/s");
                })).ConfigureAwait(false);
                task.Value = task.MaxValue;
            }).ConfigureAwait(false);
        return outcome;
    }

    /// <summary>Progress as plain lines, for redirected output and logs.</summary>
    private sealed class PlainProgress(IAnsiConsole console, string title, bool quiet) : IProgress<RebuildProgress>
    {
        private DateTimeOffset _last = DateTimeOffset.MinValue;
        private RebuildProgress? _latest;
        private RebuildProgress? _written;

        public void Report(RebuildProgress value)
        {
            _latest = value;
            var now = DateTimeOffset.UtcNow;
            if (!quiet && now - _last >= TimeSpan.FromSeconds(1))
            {
                _last = now;
                Write(value);
            }
        }

        public void Finish()
        {
            if (!quiet && _latest is { } last && last != _written)
            {
                Write(last);
            }
        }

        private void Write(RebuildProgress value)
        {
            _written = value;
            var left = value.Remaining is { } remaining ? $", {remaining:hh\\:mm\\:ss} left" : string.Empty;
            console.Profile.Out.Writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{title}: {value.Position} / {value.Head} events, {value.EventsPerSecond:F0}/s{left}"));
        }
    }
}
