using EventSourcing.Events;
using EventSourcing.Privacy;
using EventSourcing.Projections;
using Reservations.Domain;

namespace Reservations.GettingReservation;

/// <summary>A reservation as the API shows it; the guest's name, e-mail and phone are personal data.</summary>
public sealed record ReservationDetails(
    string Id,
    [property: DataSubject] Guid GuestId,
    [property: PersonalData] string GuestName,
    [property: PersonalData] string GuestEmail,
    [property: PersonalData] string? GuestPhone,
    DateOnly Day,
    int PartySize,
    string Status,
    long Version);

public sealed class ReservationDetailsProjection : Projection<ReservationDetails>
{
    public override string Name => "reservation-details";

    public override IEnumerable<string> ViewIds(EventEnvelope envelope) => envelope.Data is ReservationEvent e ? [e.Id.ToString()] : [];

    public override ReservationDetails? Evolve(string id, ReservationDetails? view, EventEnvelope envelope) => (view, envelope.Data) switch
    {
        (null, ReservationPlaced e) => new(id, e.GuestId, e.GuestName, e.GuestEmail, e.GuestPhone, e.Day, e.PartySize, "tentative", envelope.StreamVersion),
        (not null, ReservationConfirmed) => view with { Status = "confirmed", Version = envelope.StreamVersion },
        (not null, ReservationRejected) => view with { Status = "rejected", Version = envelope.StreamVersion },
        (not null, ReservationCancelled) => view with { Status = "cancelled", Version = envelope.StreamVersion },
        _ => view,
    };
}
