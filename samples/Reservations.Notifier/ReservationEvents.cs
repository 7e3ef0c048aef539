using EventSourcing.Privacy;

namespace Reservations.Notifier;

/// <summary>
/// The notifier's own copy of the two events of the reservation API it reads (<c>samples/Reservations/Domain/Reservation.cs</c>):
/// the same stored type names, and the same type and property names, since a sealed personal value is bound to
/// <c>{type name}.{property}</c>. Fields it does not need are left out; JSON reading ignores them.
/// </summary>
public sealed record ReservationPlaced(
    Guid Id,
    [property: DataSubject] Guid GuestId,
    [property: PersonalData] string GuestName,
    [property: PersonalData] string GuestEmail,
    DateOnly Day,
    int PartySize);

/// <summary>A reservation the day's capacity confirmed.</summary>
public sealed record ReservationConfirmed(Guid Id, DateTimeOffset ConfirmedAt);

/// <summary>The stored type names.</summary>
public static class ReservationEventTypes
{
    public const string Placed = "reservation-placed.v1";

    public const string Confirmed = "reservation-confirmed.v1";
}
