using System.CommandLine;
using System.Text.Json;
using EventSourcing.Projections;
using EventSourcing.Reactors;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace EventSourcing.Cli;

public static partial class FollowersCommand
{
    private static Command DeadLettersCommand(CliContext context)
    {
        var name = new Argument<string>("name") { Description = "The projection or reactor." };
        var json = JsonOption();
        var command = new Command("dead-letters", "The events a projection or reactor failed on (position, event, stream, error, when), oldest first; a reactor's are replayed with replay.") { name, json };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var follower = parse.GetValue(name)!;
            var stored = StoredName(context, follower);
            var letters = await context.Services.GetRequiredService<IProjectionStore>().ReadDeadLettersAsync(stored, cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                await context.Console.Profile.Out.Writer.WriteLineAsync(JsonSerializer.Serialize(letters, Json)).ConfigureAwait(false);
                return Done;
            }

            context.WarnInMemory();
            if (letters.Count == 0)
            {
                context.Console.MarkupLineInterpolated($"{follower} has no dead letters.");
                return Done;
            }

            var table = new Table().AddColumns("Position", "Event type", "Stream", "Event id", "Failed at", "Error");
            foreach (var letter in letters)
            {
                table.AddRow($"{letter.Position}", Markup.Escape(letter.EventType), Markup.Escape(letter.StreamId), $"{letter.EventId}", $"{letter.FailedAt:u}", Markup.Escape(letter.Error));
            }

            context.Console.Write(table);
            return Done;
        });
        return command;
    }

    /// <summary>The name <paramref name="follower"/>'s dead letters are kept under: a projection's own, a reactor's checkpoint name.</summary>
    private static string StoredName(CliContext context, string follower)
    {
        if (context.Catalog.All.Any(r => r.Name == follower))
        {
            return follower;
        }

        var reactors = context.Services.GetServices<Reactor>().Select(r => r.Name).ToList();
        return reactors.Contains(follower)
            ? Reactor.CheckpointNameOf(follower)
            : throw new UsageException($"There is no projection or reactor '{follower}'. Known: {string.Join(", ", context.Catalog.All.Select(r => r.Name).Concat(reactors))}.");
    }
}
