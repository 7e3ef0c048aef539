using System.Collections.Immutable;
using EventSourcing.Commands;
using EventSourcing.Deciders;
using EventSourcing.Events;

namespace Reservations.Domain;

public abstract record DayEvent(DateOnly Day);

[EventType("seats-held.v1")]
public sealed record SeatsHeld(DateOnly Day, Guid ReservationId, int Seats, int Capacity) : DayEvent(Day);

/// <summary>The day had too few seats left for the reservation: it is rejected, and the day never holds seats for it.</summary>
[EventType("seats-refused.v1")]
public sealed record SeatsRefused(DateOnly Day, Guid ReservationId, int Seats, int Left) : DayEvent(Day);

/// <summary>The reservation's seats go back (none when it held none: it is closed on this day all the same).</summary>
[EventType("seats-released.v1")]
public sealed record SeatsReleased(DateOnly Day, Guid ReservationId, int Seats) : DayEvent(Day);

/// <summary>A day's commands, sent by the confirmation reactor to the day's stream.</summary>
public abstract record DayCommand(DateOnly Day) : IDeciderCommand;

public sealed record HoldSeats(DateOnly Day, Guid ReservationId, int Seats, int Capacity) : DayCommand(Day);

public sealed record ReleaseSeats(DateOnly Day, Guid ReservationId) : DayCommand(Day);

/// <summary>A day's held seats, per reservation, and the reservations it has done with (refused or released).</summary>
public sealed record DayCapacity(ImmutableDictionary<Guid, int> Holds, ImmutableHashSet<Guid> Closed)
{
    public int Held => Holds.Values.Sum();
}

/// <summary>
/// One stream per day; every decision is an event on it, so holding seats appends with the version read (concurrent
/// holds never overbook), and the day knows every reservation it has decided: a hold that comes late (a reaction repeated,
/// or made by a process that no longer runs the reactor) for a reservation already held, refused or released changes
/// nothing, so no seat is ever held for a reservation that is not confirmed.
/// </summary>
public static class DayCapacityDecider
{
    public static readonly Decider<DayCommand, DayEvent, DayCapacity> Decider = new(new DayCapacity(ImmutableDictionary<Guid, int>.Empty, []), Evolve, Decide);

    public static string StreamOf(DateOnly day) => $"day-{day:yyyy-MM-dd}";

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

    public static DayCapacity Evolve(DayCapacity state, DayEvent @event) => @event switch
    {
        SeatsHeld e => state with { Holds = state.Holds.SetItem(e.ReservationId, e.Seats) },
        SeatsRefused e => state with { Closed = state.Closed.Add(e.ReservationId) },
        SeatsReleased e => state with { Holds = state.Holds.Remove(e.ReservationId), Closed = state.Closed.Add(e.ReservationId) },
        _ => state,
    };
}
