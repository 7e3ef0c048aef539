using EventSourcing.Projections;
using Reservations.GettingReservation;

namespace Reservations.ListingReservations;

public static class ListReservationsEndpoints
{
    public static RouteGroupBuilder MapListReservations(this RouteGroupBuilder group)
    {
        group.MapGet("/days/{day}/reservations", ByDayAsync).WithName("ListDayReservations").WithSummary("The reservations of a day.");
        group.MapGet("/guests/{guestId:guid}/reservations", ByGuestAsync).WithName("ListGuestReservations").WithSummary("A guest's reservations.");
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
