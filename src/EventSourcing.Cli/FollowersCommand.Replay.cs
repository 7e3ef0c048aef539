using System.CommandLine;
using EventSourcing.Projections;
using EventSourcing.Reactors;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace EventSourcing.Cli;

public static partial class FollowersCommand
{
    private static Command ReplayCommand(CliContext context)
    {
        var reactor = new Argument<string>("reactor") { Description = "The reactor." };
        var from = new Option<long>("--from") { Description = "The position to handle the log again from (inclusive): at most the head of the log + 1.", Required = true };
        var yes = new Option<bool>("--yes", "-y") { Description = "Do not ask for confirmation (for scripts)." };
        var command = new Command("replay", "Has a reactor handle the log again from a position (or skip to it): the process running it follows within a second; restarts a stopped reactor.") { reactor, from, yes };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var reader = context.Services.GetRequiredService<ReactorStatusReader>();
            var status = FindReactor(await reader.ReadAsync(cancellationToken).ConfigureAwait(false), parse.GetValue(reactor)!);
            var position = parse.GetValue(from);
            if (position < 1 || position > status.Head + 1)
            {
                throw new UsageException($"--from must be a position from 1 to {status.Head + 1} (the head of the log is {status.Head}); it was {position}.");
            }

            context.WarnInMemory();
            var what = ReplayEffect(status, position);
            if (!parse.GetValue(yes))
            {
                if (!context.Console.Profile.Capabilities.Interactive)
                {
                    throw new UsageException($"Replaying asks for confirmation, and this is not an interactive terminal: add --yes. {what}");
                }

                if (!await context.Console.ConfirmAsync($"{Markup.Escape(what)} Replay {Markup.Escape(status.Name)}?", defaultValue: false, cancellationToken).ConfigureAwait(false))
                {
                    context.Console.WriteLine("Nothing replayed.");
                    return Done;
                }
            }

            await reader.ReplayAsync(status.Name, position, cancellationToken).ConfigureAwait(false);
            var after = FindReactor(await reader.ReadAsync(cancellationToken).ConfigureAwait(false), status.Name);
            var follows = after.Node is { } node ? $"{node} runs it and follows it within a second" : "no process runs it now: the next one elected follows it";
            context.Console.MarkupLineInterpolated($"[green]{status.Name}[/]: replays from position {position} (checkpoint generation {after.Version}); {follows}.");
            return Done;
        });
        return command;
    }

    private static ProjectionStatus FindReactor(IReadOnlyList<ProjectionStatus> reactors, string name) =>
        reactors.FirstOrDefault(r => r.Name == name)
        ?? throw new UsageException(reactors.Count == 0
            ? $"There is no reactor named '{name}': this application registers none."
            : $"There is no reactor named '{name}'. Known reactors: {string.Join(", ", reactors.Select(r => r.Name))}.");

    /// <summary>What a replay from <paramref name="position"/> does, said before it is confirmed.</summary>
    private static string ReplayEffect(ProjectionStatus reactor, long position) =>
        position <= reactor.Position
            ? $"{reactor.Name} is at position {reactor.Position}: it handles the events from {position} to {reactor.Position} again (its commands carry ids derived from the events, so those it already acted on change nothing)."
            : position == reactor.Position + 1
                ? $"{reactor.Name} is at position {reactor.Position}: it goes on from {position}, handling nothing again and skipping nothing."
                : $"{reactor.Name} is at position {reactor.Position}: it skips the events from {reactor.Position + 1} to {position - 1}, never handling them, and goes on from {position}.";
}
