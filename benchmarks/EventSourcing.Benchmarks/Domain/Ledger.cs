using EventSourcing.Events;
using EventSourcing.Privacy;
using EventSourcing.Projections;

namespace EventSourcing.Benchmarks.Domain;

// Events for the append, rebuild and crypto-shredding scenarios: the same shape with and without personal data.
public sealed record SeatsHeld(Guid ReservationId, Guid GuestId, DateOnly Day, int Seats, string GuestName, string GuestEmail, string GuestPhone);

public sealed record GuestSeatsHeld(
    Guid ReservationId,
    [property: DataSubject] Guid GuestId,
    DateOnly Day,
    int Seats,
    [property: PersonalData] string GuestName,
    [property: PersonalData] string GuestEmail,
    [property: PersonalData] string GuestPhone);

public static class Ledger
{
    public static EventTypeRegistry Register(EventTypeRegistry registry) => registry
        .Register<SeatsHeld>("seats-held.v1")
        .Register<GuestSeatsHeld>("guest-seats-held.v1");

    /// <summary>Event <paramref name="index"/> of a deterministic workload; <paramref name="personal"/> chooses the protected shape.</summary>
    public static object Event(long index, bool personal)
    {
        var guest = GuestOf(index);
        var day = new DateOnly(2027, 1, 1).AddDays((int)(index % 365));
        var seats = 1 + (int)(index % 6);
        var reservation = Guid.CreateVersion7();
        var name = $"Guest {index % 100_000}";
        var email = $"guest{index % 100_000}@example.com";
        const string phone = "+44 20 7946 0000";
        return personal
            ? new GuestSeatsHeld(reservation, guest, day, seats, name, email, phone)
            : new SeatsHeld(reservation, guest, day, seats, name, email, phone);
    }

    /// <summary>The guest of event <paramref name="index"/>: 10,000 guests, so keys are reused as in a real log.</summary>
    public static Guid GuestOf(long index) => new((int)(index % 10_000), 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);
}

/// <summary>Seats held per day: 365 views over the whole log.</summary>
public sealed record DaySeats(string Id, int Seats, int Reservations);

public sealed class DaySeatsProjection : Projection<DaySeats>
{
    public override string Name => "day-seats";

    /// <summary>Seats per day: no guest's personal value is read, so rebuilds decrypt nothing.</summary>
    public override bool ReadsPersonalData => false;

    public override IEnumerable<string> ViewIds(EventEnvelope envelope) => envelope.Data switch
    {
        SeatsHeld e => [e.Day.ToString("O", System.Globalization.CultureInfo.InvariantCulture)],
        GuestSeatsHeld e => [e.Day.ToString("O", System.Globalization.CultureInfo.InvariantCulture)],
        _ => [],
    };

    public override DaySeats? Evolve(string id, DaySeats? view, EventEnvelope envelope)
    {
        var seats = envelope.Data switch
        {
            SeatsHeld e => e.Seats,
            GuestSeatsHeld e => e.Seats,
            _ => 0,
        };
        view ??= new DaySeats(id, 0, 0);
        return view with { Seats = view.Seats + seats, Reservations = view.Reservations + 1 };
    }
}
