using EventSourcing.Projections;
using Reservations.GettingReservation;
using Reservations.OpenApi;

namespace Reservations.ListingReservations;

public static class ListReservationsEndpoints
{
    public static RouteGroupBuilder MapListReservations(this RouteGroupBuilder group)
    {
        group.MapGet("/days/{day}/reservations", ByDayAsync)
            .WithName("ListDayReservations")
            .WithTags(ApiDocument.Days)
            .WithSummary("List a day's reservations")
            .WithDescription("Every reservation of the day, in any status, as the view shows them. `day` is a date as YYYY-MM-DD.")
            .Produces<List<ReservationDetails>>()
            .WithDayParameter();
        group.MapGet("/guests/{guestId}/reservations", ByGuestAsync)
            .WithName("ListGuestReservations")
            .WithTags(ApiDocument.Guests)
            .WithSummary("List a guest's reservations")
            .WithDescription("Every reservation of the guest, in any status, as the view shows them (empty for a guest with none).")
            .Produces<List<ReservationDetails>>();
        return group;
    }

    private static async Task<IResult> ByDayAsync(string day, IViewReader views, CancellationToken cancellationToken)
    {
        if (!Days.TryParse(day, out var date))
        {
            return Problems.BadDay(day);
        }

        return TypedResults.Ok(await views.QueryAsync<ReservationDetails>(r => r.Day == date, cancellationToken));
    }

    private static async Task<IResult> ByGuestAsync(Guid guestId, IViewReader views, CancellationToken cancellationToken) =>
        TypedResults.Ok(await views.QueryAsync<ReservationDetails>(r => r.GuestId == guestId, cancellationToken));
}
