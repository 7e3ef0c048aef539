using EventSourcing.Commands;
using EventSourcing.Deciders;
using EventSourcing.Events;
using EventSourcing.Privacy;

namespace Reservations.Domain;

public abstract record ReservationEvent(Guid Id);

/// <summary>A guest asked for seats; tentative until the day's capacity says yes or no.</summary>
[EventType("reservation-placed.v1")]
public sealed record ReservationPlaced(
    Guid Id,
    [property: DataSubject] Guid GuestId,
    [property: PersonalData] string GuestName,
    [property: PersonalData] string GuestEmail,
    [property: PersonalData] string? GuestPhone,
    DateOnly Day,
    int PartySize,
    DateTimeOffset PlacedAt) : ReservationEvent(Id);

[EventType("reservation-confirmed.v1")]
public sealed record ReservationConfirmed(Guid Id, DateTimeOffset ConfirmedAt) : ReservationEvent(Id);

[EventType("reservation-rejected.v1")]
public sealed record ReservationRejected(Guid Id, string Reason, DateTimeOffset RejectedAt) : ReservationEvent(Id);

[EventType("reservation-cancelled.v1")]
public sealed record ReservationCancelled(Guid Id, bool WasConfirmed, DateOnly Day, int PartySize, DateTimeOffset CancelledAt) : ReservationEvent(Id);

/// <summary>
/// A reservation's commands, sent with <see cref="ICommandSender"/> to the stream of their reservation. Their id (from an
/// <c>Idempotency-Key</c>) makes a retried request a repeat; <c>Now</c> is the time the server received the command, so it
/// is left out of that comparison.
/// </summary>
public abstract record ReservationCommand(Guid Id) : IDeciderCommand, IIdempotentCommand
{
    public Guid CommandId { get; init; }
}

/// <summary>Places a tentative reservation. Its personal values are marked as in the event: the idempotency check hashes them under the guest's key.</summary>
public sealed record PlaceReservation(
    Guid Id,
    [property: DataSubject] Guid GuestId,
    [property: PersonalData] string GuestName,
    [property: PersonalData] string GuestEmail,
    [property: PersonalData] string? GuestPhone,
    DateOnly Day,
    int PartySize,
    [property: IdempotencyIgnore] DateTimeOffset Now)
    : ReservationCommand(Id);

public sealed record ConfirmReservation(Guid Id, DateTimeOffset Now) : ReservationCommand(Id);

public sealed record RejectReservation(Guid Id, string Reason, DateTimeOffset Now) : ReservationCommand(Id);

/// <summary>Cancels a reservation; with <see cref="ExpectedVersion"/> (an <c>If-Match</c>) only if it has not changed since it was read.</summary>
public sealed record CancelReservation(Guid Id, [property: IdempotencyIgnore] DateTimeOffset Now) : ReservationCommand(Id), IVersionedCommand
{
    public long? ExpectedVersion { get; init; }
}

public abstract record Reservation
{
    public sealed record None : Reservation;

    public sealed record Tentative(Guid Id, DateOnly Day, int PartySize) : Reservation;

    public sealed record Confirmed(Guid Id, DateOnly Day, int PartySize) : Reservation;

    public sealed record Rejected(Guid Id) : Reservation;

    public sealed record Cancelled(Guid Id) : Reservation;
}

public static class ReservationDecider
{
    public static readonly Decider<ReservationCommand, ReservationEvent, Reservation> Decider = new(new Reservation.None(), Evolve, Decide);

    public static string StreamOf(Guid id) => $"reservation-{id}";

    public static ReservationEvent[] Decide(ReservationCommand command, Reservation state) => (command, state) switch
    {
        (PlaceReservation c, Reservation.None) => [new ReservationPlaced(c.Id, c.GuestId, c.GuestName, c.GuestEmail, c.GuestPhone, c.Day, c.PartySize, c.Now)],
        (PlaceReservation, _) => [], // a retry of the same placement: nothing to do
        (ConfirmReservation c, Reservation.Tentative) => [new ReservationConfirmed(c.Id, c.Now)],
        (ConfirmReservation, Reservation.Confirmed) => [],
        (RejectReservation c, Reservation.Tentative) => [new ReservationRejected(c.Id, c.Reason, c.Now)],
        (RejectReservation, Reservation.Rejected or Reservation.Cancelled) => [], // cancelled before the day refused it: nothing to reject
        (CancelReservation c, Reservation.Tentative t) => [new ReservationCancelled(c.Id, false, t.Day, t.PartySize, c.Now)],
        (CancelReservation c, Reservation.Confirmed s) => [new ReservationCancelled(c.Id, true, s.Day, s.PartySize, c.Now)],
        (CancelReservation, Reservation.Cancelled) => [],
        (_, Reservation.None) => throw new ReservationNotFoundException(command.Id),
        _ => throw new DomainException($"Cannot {Describe(command)} a {state.GetType().Name.ToLowerInvariant()} reservation."),
    };

    public static Reservation Evolve(Reservation state, ReservationEvent @event) => (state, @event) switch
    {
        (Reservation.None, ReservationPlaced e) => new Reservation.Tentative(e.Id, e.Day, e.PartySize),
        (Reservation.Tentative t, ReservationConfirmed) => new Reservation.Confirmed(t.Id, t.Day, t.PartySize),
        (Reservation.Tentative t, ReservationRejected) => new Reservation.Rejected(t.Id),
        (_, ReservationCancelled e) => new Reservation.Cancelled(e.Id),
        _ => state,
    };

    private static string Describe(ReservationCommand command) => command switch
    {
        ConfirmReservation => "confirm",
        RejectReservation => "reject",
        CancelReservation => "cancel",
        _ => "place",
    };
}

/// <summary>No reservation has this id.</summary>
public sealed class ReservationNotFoundException(Guid id) : DomainException($"Reservation {id} does not exist.")
{
    public Guid Id { get; } = id;
}
