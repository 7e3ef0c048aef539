using EventSourcing.Deciders;
using Reservations.Domain;

namespace EventSourcing.Docs.Tests.Snippets.Reactors;

// docs/reactors.md, "At least once, and command ids derived from the event": the day's Decide
// (samples/Reservations/Domain/DayCapacity.cs), over the sample's day commands, events and state.
public static class DayCapacityDecide
{
    public static DayEvent[] Decide(DayCommand command, DayCapacity state) => command switch
    {
        HoldSeats c when state.Holds.ContainsKey(c.ReservationId) || state.Closed.Contains(c.ReservationId) => [],
        HoldSeats c when state.Held + c.Seats > c.Capacity => [new SeatsRefused(c.Day, c.ReservationId, c.Seats, c.Capacity - state.Held)],
        HoldSeats c => [new SeatsHeld(c.Day, c.ReservationId, c.Seats, c.Capacity)],
        ReleaseSeats c when state.Holds.TryGetValue(c.ReservationId, out var seats) => [new SeatsReleased(c.Day, c.ReservationId, seats)],
        ReleaseSeats c when !state.Closed.Contains(c.ReservationId) => [new SeatsReleased(c.Day, c.ReservationId, 0)],
        ReleaseSeats => [],
        _ => throw new DomainException($"Unknown day command {command.GetType().Name}."),
    };
}
