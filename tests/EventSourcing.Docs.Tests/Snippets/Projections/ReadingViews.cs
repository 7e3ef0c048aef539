using EventSourcing.Deciders;
using EventSourcing.Projections;
using EventSourcing.Testing.Contracts.Domain;

namespace EventSourcing.Docs.Tests.Snippets.Projections;

// docs/projections.md, "Reading views".
internal static class ReadingViews
{
    public static async Task<bool> ReadAsync(IViewReader views, ICommandSender commands, AddToTally command, CancellationToken ct)
    {
        var view = await views.FindAsync<TallyView>("tally-42", ct);                   // IViewReader
        var open = await views.QueryAsync<TallyView>(v => !v.Closed, ct);
        var result = await commands.SendAsync(command, ct);                             // ICommandSender; CommandResult.Position
        bool caughtUp = await views.WaitForPositionAsync<TallyView>(result.Position, TimeSpan.FromSeconds(5), ct);
        return caughtUp && view is not null && open.Count > 0;
    }
}
