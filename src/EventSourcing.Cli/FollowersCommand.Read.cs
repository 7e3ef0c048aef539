using System.CommandLine;
using System.Text.Json;
using EventSourcing.Projections;
using EventSourcing.Reactors;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace EventSourcing.Cli;

public static partial class FollowersCommand
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    private static Option<bool> JsonOption() => new("--json") { Description = "Write JSON instead of a table, for scripts." };

    private static Command ListCommand(CliContext context)
    {
        var json = JsonOption();
        var command = new Command("list", "The registered projections: name, version, lifecycle, view type.") { json };
        command.SetAction(parse =>
        {
            var rows = context.Catalog.All.Select(r => new ListedProjection(r.Name, r.Projection.Version, r.Lifecycle.ToString().ToLowerInvariant(), r.Projection.ViewType.Name)).ToList();
            if (parse.GetValue(json))
            {
                context.Console.Profile.Out.Writer.WriteLine(JsonSerializer.Serialize(rows, Json));
                return Done;
            }

            var table = new Table().AddColumns("Name", "Version", "Lifecycle", "View");
            foreach (var row in rows)
            {
                table.AddRow(Markup.Escape(row.Name), row.Version.ToString(System.Globalization.CultureInfo.InvariantCulture), row.Lifecycle, Markup.Escape(row.ViewType));
            }

            context.Console.Write(table);
            return Done;
        });
        return command;
    }

    private static Command StatusCommand(CliContext context)
    {
        var json = JsonOption();
        var command = new Command("status", "Where each projection and reactor stands: position, head of the log, lag, state, dead letters (and the process running each reactor).") { json };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var statuses = await context.Services.GetRequiredService<ProjectionStatusReader>().ReadAsync(cancellationToken).ConfigureAwait(false);
            var reactors = await context.Services.GetRequiredService<ReactorStatusReader>().ReadAsync(cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                await context.Console.Profile.Out.Writer.WriteLineAsync(JsonSerializer.Serialize(statuses.Concat(reactors), Json)).ConfigureAwait(false);
                return Done;
            }

            context.WarnInMemory();
            var table = new Table().AddColumns("Name", "Position", "Head", "Lag", "State", "Dead letters");
            foreach (var status in statuses)
            {
                var state = (status.RebuildPosition ?? status.StoppedAt) is { } at ? $"{status.State} (at {at})" : status.State;
                table.AddRow(Markup.Escape(status.Name), $"{status.Position}", $"{status.Head}", $"{status.Lag}", state, $"{status.DeadLetters}");
            }

            context.Console.Write(table);
            if (statuses.Any(s => s.State == ProjectionStates.Stopped))
            {
                context.Console.MarkupLine($"A stopped projection waits at the event it failed on ([bold]{Verb} dead-letters <projection>[/] shows it): once the projection is fixed, restarting the application projects from that event on.");
            }

            if (reactors.Count > 0)
            {
                WriteReactors(context.Console, reactors);
            }

            return Done;
        });
        return command;
    }

    /// <summary>The reactors' table: a second one, with the process running each.</summary>
    private static void WriteReactors(IAnsiConsole console, IReadOnlyList<ProjectionStatus> reactors)
    {
        var table = new Table().AddColumns("Reactor", "Position", "Head", "Lag", "State", "Node", "Dead letters");
        foreach (var reactor in reactors)
        {
            table.AddRow(Markup.Escape(reactor.Name), $"{reactor.Position}", $"{reactor.Head}", $"{reactor.Lag}", Markup.Escape(reactor.State), Markup.Escape(reactor.Node ?? "-"), $"{reactor.DeadLetters}");
        }

        console.Write(table);
        if (reactors.Any(r => r.State == ReactorStates.Stopped))
        {
            console.MarkupLine($"A stopped reactor waits at the event it kept failing on: [bold]{Verb} replay <reactor> --from <position>[/] restarts it from that event (once fixed) or after it (to skip it).");
        }
    }

    private sealed record ListedProjection(string Name, int Version, string Lifecycle, string ViewType);
}
