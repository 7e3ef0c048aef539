using EventSourcing.Storage;
using Reservations.Domain;

namespace Reservations.GettingHistory;

public static class GetHistoryEndpoint
{
    public sealed record HistoryEntry(string Type, long Version, long Position, DateTimeOffset Timestamp, object Data);

    public static RouteGroupBuilder MapGetHistory(this RouteGroupBuilder group)
    {
        group.MapGet("/reservations/{id:guid}/history", GetAsync).WithName("GetReservationHistory").WithSummary("The reservation's events, in order.");
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
