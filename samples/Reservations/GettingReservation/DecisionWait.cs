using EventSourcing.Events;
using EventSourcing.Reactors;
using EventSourcing.Storage;
using Reservations.Domain;

namespace Reservations.GettingReservation;

/// <summary>
/// Read your decision (<c>?decided=true</c>): a placed reservation is decided by the reactor in two hops through the day's
/// stream (the placement asks the day for seats; the day's answer confirms or rejects it), so reading it right after the
/// placement shows it tentative. This waits for both hops, then says which position the views must reach to show the
/// decision.
/// </summary>
internal static class DecisionWait
{
    private static readonly TimeSpan LookAgain = TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// The position of the reservation's last event once it is decided (confirmed, rejected or cancelled), waiting for the
    /// reactor while it is not, at most <paramref name="timeout"/>: then the position of its last event as it is (0 when
    /// it has none).
    /// </summary>
    public static async Task<long> WaitForReactorAsync(Guid id, IEventReader events, ReactorStatusReader reactors, TimeProvider timeProvider, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var started = timeProvider.GetTimestamp();
        TimeSpan Left() => timeout - timeProvider.GetElapsedTime(started);
        var last = await LastEventAsync(id, events, cancellationToken);
        if (last is not { Data: ReservationPlaced })
        {
            return last?.Position ?? 0; // decided already, or no such reservation
        }

        // First hop: the reactor's checkpoint passes the placement only once the day's answer (seats held or refused) is stored.
        if (!await reactors.WaitForAsync(ConfirmationReactor.ReactorName, last.Position, Left(), cancellationToken))
        {
            return last.Position;
        }

        // Second hop: the day's answer lies past the placement. Once the reactor has passed the head as this process reads it,
        // the decision is stored, unless the answer lay past that head (on PostgreSQL a process reads the log only up to
        // where no transaction in flight can still commit): then look again, until the decision is there or time is up.
        while (true)
        {
            var head = await events.ReadHeadPositionAsync(cancellationToken);
            if (!await reactors.WaitForAsync(ConfirmationReactor.ReactorName, head, Left(), cancellationToken))
            {
                return last.Position;
            }

            var now = await LastEventAsync(id, events, cancellationToken);
            if (now is not { Data: ReservationPlaced })
            {
                return now?.Position ?? last.Position;
            }

            var left = Left();
            if (left <= TimeSpan.Zero)
            {
                return last.Position;
            }

            await Task.Delay(left < LookAgain ? left : LookAgain, timeProvider, cancellationToken);
        }
    }

    private static async Task<EventEnvelope?> LastEventAsync(Guid id, IEventReader events, CancellationToken cancellationToken)
    {
        EventEnvelope? last = null;
        await foreach (var envelope in events.ReadStreamAsync(ReservationDecider.StreamOf(id), 1, cancellationToken))
        {
            last = envelope;
        }

        return last;
    }
}
