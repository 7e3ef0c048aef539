using EventSourcing.Deciders;
using EventSourcing.Events;
using EventSourcing.Reactors;
using Microsoft.Extensions.Options;

namespace Reservations.Domain;

/// <summary>
/// The second step of a reservation: a placed reservation holds seats on its day, then is confirmed, or rejected as
/// sold out; a cancelled confirmed reservation releases its seats. Every command it sends has an id derived from the
/// event, so handling an event again (after a crash) changes nothing.
/// </summary>
public sealed class ConfirmationReactor(
    DeciderHandler<ReservationCommand, ReservationEvent, Reservation> reservations,
    DeciderHandler<DayCommand, DayEvent, DayCapacity> days,
    IOptions<ReservationOptions> options,
    TimeProvider timeProvider) : Reactor
{
    public override string Name => "reservation-confirmation";

    public override async Task ReactAsync(EventEnvelope envelope, CancellationToken cancellationToken)
    {
        switch (envelope.Data)
        {
            case ReservationPlaced placed:
                await HoldThenConfirmAsync(envelope, placed, cancellationToken);
                break;
            case ReservationCancelled { WasConfirmed: true } cancelled:
                await ReleaseAsync(envelope, cancelled.Day, cancelled.Id, "release", cancellationToken);
                break;
        }
    }

    private async Task HoldThenConfirmAsync(EventEnvelope envelope, ReservationPlaced placed, CancellationToken cancellationToken)
    {
        var stream = ReservationDecider.StreamOf(placed.Id);
        try
        {
            var hold = new HoldSeats(placed.Day, placed.Id, placed.PartySize, options.Value.SeatsPerDay);
            await days.HandleAsync(DayCapacityDecider.StreamOf(placed.Day), hold, Caused(envelope, "hold"), cancellationToken);
        }
        catch (SoldOutException)
        {
            await reservations.HandleAsync(stream, new RejectReservation(placed.Id, "sold-out", timeProvider.GetUtcNow()), Caused(envelope, "reject"), cancellationToken);
            return;
        }

        try
        {
            await reservations.HandleAsync(stream, new ConfirmReservation(placed.Id, timeProvider.GetUtcNow()), Caused(envelope, "confirm"), cancellationToken);
        }
        catch (DomainException)
        {
            // Cancelled while tentative: the seats just held go back.
            await ReleaseAsync(envelope, placed.Day, placed.Id, "release-unconfirmed", cancellationToken);
        }
    }

    private Task<CommandResult> ReleaseAsync(EventEnvelope envelope, DateOnly day, Guid reservation, string purpose, CancellationToken cancellationToken) =>
        days.HandleAsync(DayCapacityDecider.StreamOf(day), new ReleaseSeats(day, reservation), Caused(envelope, purpose), cancellationToken);

    private EventMetadata Caused(EventEnvelope envelope, string purpose) => new()
    {
        CommandId = CommandIdFor(envelope, purpose),
        CausationId = envelope.EventId.ToString(),
        CorrelationId = envelope.Metadata.CorrelationId,
        User = Name,
    };
}
