using EventSourcing.Deciders;
using EventSourcing.Events;
using EventSourcing.Reactors;
using Microsoft.Extensions.Options;
using Reservations.Domain;

namespace EventSourcing.Docs.Tests.Snippets.Reactors;

// docs/reactors.md, "Writing and registering one": the sample's reactor (samples/Reservations/Domain/ConfirmationReactor.cs),
// over the sample's commands and events.
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
