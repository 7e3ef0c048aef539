using EventSourcing.Deciders;
using EventSourcing.Events;
using EventSourcing.Reactors;
using Microsoft.Extensions.Options;

namespace Reservations.Domain;

/// <summary>
/// The second step of a reservation, in two hops through the day's stream: a placed reservation asks the day to hold
/// its seats; the day's decision (held, or refused as sold out) confirms or rejects it; a cancelled reservation gives
/// its seats back (and closes it on the day, so a hold that comes late changes nothing). Every command it sends has an
/// id derived from the event, so handling an event again (after a crash, or late, by a process that lost the reactor)
/// changes nothing.
/// </summary>
public sealed class ConfirmationReactor(
    ICommandSender commands,
    IOptions<ReservationOptions> options,
    TimeProvider timeProvider) : Reactor
{
    public const string ReactorName = "reservation-confirmation";

    public override string Name => ReactorName;

    public override IReadOnlyCollection<Type> EventTypes { get; } = [typeof(ReservationPlaced), typeof(ReservationCancelled), typeof(SeatsHeld), typeof(SeatsRefused)];

    public override async Task ReactAsync(EventEnvelope envelope, CancellationToken cancellationToken)
    {
        switch (envelope.Data)
        {
            case ReservationPlaced placed:
                var hold = new HoldSeats(placed.Day, placed.Id, placed.PartySize, options.Value.SeatsPerDay);
                await commands.SendAsync(hold, Caused(envelope, "hold"), cancellationToken);
                break;
            case SeatsHeld held:
                await ConfirmAsync(envelope, held, cancellationToken);
                break;
            case SeatsRefused refused:
                await commands.SendAsync(new RejectReservation(refused.ReservationId, "sold-out", timeProvider.GetUtcNow()), Caused(envelope, "reject"), cancellationToken);
                break;
            case ReservationCancelled cancelled:
                await ReleaseAsync(envelope, cancelled.Day, cancelled.Id, "release", cancellationToken);
                break;
        }
    }

    private async Task ConfirmAsync(EventEnvelope envelope, SeatsHeld held, CancellationToken cancellationToken)
    {
        try
        {
            await commands.SendAsync(new ConfirmReservation(held.ReservationId, timeProvider.GetUtcNow()), Caused(envelope, "confirm"), cancellationToken);
        }
        catch (DomainException)
        {
            // Cancelled while tentative: its seats go back (already, when the cancellation was handled first).
            await ReleaseAsync(envelope, held.Day, held.ReservationId, "release-unconfirmed", cancellationToken);
        }
    }

    private Task<CommandResult> ReleaseAsync(EventEnvelope envelope, DateOnly day, Guid reservation, string purpose, CancellationToken cancellationToken) =>
        commands.SendAsync(new ReleaseSeats(day, reservation), Caused(envelope, purpose), cancellationToken);

    private EventMetadata Caused(EventEnvelope envelope, string purpose) => new()
    {
        CommandId = CommandIdFor(envelope, purpose),
        CausationId = envelope.EventId.ToString(),
        CorrelationId = envelope.Metadata.CorrelationId,
        User = Name,
    };
}
