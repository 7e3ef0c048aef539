using System.Collections.Immutable;
using EventSourcing.Testing.Deciders;
using Reservations.Domain;

namespace Reservations.Tests.Specs;

/// <summary>What the specifications share: the deciders, and a few values.</summary>
internal static class Given
{
    public static readonly Guid Id = Guid.Parse("0190f3b4-0000-7000-8000-000000000001");
    public static readonly Guid Guest = Guid.Parse("0190f3b4-0000-7000-8000-0000000000aa");
    public static readonly DateOnly Day = new(2027, 3, 14);
    public static readonly DateTimeOffset Now = new(2027, 3, 1, 12, 0, 0, TimeSpan.Zero);

    public static DeciderSpecification<ReservationCommand, ReservationEvent, Reservation> ReservationSpec =>
        DeciderSpecification.For(ReservationDecider.Decider);

    public static DeciderSpecification<DayCommand, DayEvent, DayCapacity> DaySpec =>
        DeciderSpecification.For(DayCapacityDecider.Decider);

    public static ReservationPlaced Placed(int partySize = 2) => new(Id, Guest, "Ada", "ada@example.com", null, Day, partySize, Now);

    public static DayCapacity DayState(ImmutableDictionary<Guid, int> holds, params Guid[] closed) => new(holds, [.. closed]);
}
