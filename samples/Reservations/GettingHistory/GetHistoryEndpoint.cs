using EventSourcing.Storage;
using Reservations.Domain;
using Reservations.OpenApi;

namespace Reservations.GettingHistory;

public static class GetHistoryEndpoint
{
    public sealed record HistoryEntry(string Type, long Version, long Position, DateTimeOffset Timestamp, object Data);

    public static RouteGroupBuilder MapGetHistory(this RouteGroupBuilder group)
    {
        group.MapGet("/reservations/{id}/history", GetAsync)
            .WithName("GetReservationHistory")
            .WithTags(ApiDocument.Reservations)
            .WithSummary("Get a reservation's history")
            .WithDescription("The reservation's events, in order, read from the log: each with its type, stream version, log position, time and data. Personal values of an erased guest read as \"[erased]\".")
            .Produces<List<HistoryEntry>>()
            .ProducesProblem(StatusCodes.Status404NotFound);
        return group;
    }

    private static async Task<IResult> GetAsync(Guid id, IEventReader events, CancellationToken cancellationToken)
    {
        var history = await events.ReadStreamAsync(ReservationDecider.StreamOf(id), 1, cancellationToken)
            .Select(e => new HistoryEntry(e.EventType, e.StreamVersion, e.Position, e.Timestamp, e.Data))
            .ToListAsync(cancellationToken);
        return history.Count == 0 ? TypedResults.Problem(Problems.NotFound($"Reservation {id} does not exist.")) : TypedResults.Ok(history);
    }
}
