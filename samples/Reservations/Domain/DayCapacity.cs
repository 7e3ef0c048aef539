using System.Collections.Immutable;
using EventSourcing.Deciders;

namespace Reservations.Domain;

public abstract record DayEvent(DateOnly Day);

public sealed record SeatsHeld(DateOnly Day, Guid ReservationId, int Seats, int Capacity) : DayEvent(Day);

public sealed record SeatsReleased(DateOnly Day, Guid ReservationId, int Seats) : DayEvent(Day);

public abstract record DayCommand(DateOnly Day);

public sealed record HoldSeats(DateOnly Day, Guid ReservationId, int Seats, int Capacity) : DayCommand(Day);

public sealed record ReleaseSeats(DateOnly Day, Guid ReservationId) : DayCommand(Day);

/// <summary>A day's held seats, per reservation.</summary>
public sealed record DayCapacity(ImmutableDictionary<Guid, int> Holds)
{
    public int Held => Holds.Values.Sum();
}

/// <summary>One stream per day; holding seats appends with the version read, so concurrent holds can never overbook.</summary>
public static class DayCapacityDecider
{
    public static readonly Decider<DayCommand, DayEvent, DayCapacity> Decider = new(new DayCapacity(ImmutableDictionary<Guid, int>.Empty), Evolve, Decide);

    public static string StreamOf(DateOnly day) => $"day-{day:yyyy-MM-dd}";

    public static DayEvent[] Decide(DayCommand command, DayCapacity state) => command switch
    {
        HoldSeats c when state.Holds.ContainsKey(c.ReservationId) => [],
        HoldSeats c when state.Held + c.Seats > c.Capacity => throw new SoldOutException(c.Day, c.Capacity - state.Held, c.Seats),
        HoldSeats c => [new SeatsHeld(c.Day, c.ReservationId, c.Seats, c.Capacity)],
        ReleaseSeats c when state.Holds.TryGetValue(c.ReservationId, out var seats) => [new SeatsReleased(c.Day, c.ReservationId, seats)],
        ReleaseSeats => [],
        _ => throw new DomainException($"Unknown day command {command.GetType().Name}."),
    };

    public static DayCapacity Evolve(DayCapacity state, DayEvent @event) => @event switch
    {
        SeatsHeld e => state with { Holds = state.Holds.SetItem(e.ReservationId, e.Seats) },
        SeatsReleased e => state with { Holds = state.Holds.Remove(e.ReservationId) },
        _ => state,
    };
}

/// <summary>The day has fewer seats left than asked for.</summary>
public sealed class SoldOutException(DateOnly day, int left, int asked)
    : DomainException($"{day:yyyy-MM-dd} has {left} seat(s) left; {asked} asked.");
