using System.Collections.Immutable;
using Reservations.Domain;
using static Reservations.Tests.Specs.Given;

namespace Reservations.Tests.Specs;

public sealed class HoldSeatsSpecs
{
    private static readonly Guid Other = Guid.Parse("0190f3b4-0000-7000-8000-000000000002");

    [Fact]
    public void Given_room_when_held_then_the_seats_are_held()
    {
        DaySpec.When(new HoldSeats(Day, Id, 4, 10)).Then(new SeatsHeld(Day, Id, 4, 10));
        DaySpec.When(new HoldSeats(Day, Id, 4, 10)).ThenState(state => Assert.Equal(4, state.Held));
    }

    [Fact]
    public void Given_too_few_seats_left_when_held_then_they_are_refused_and_the_reservation_is_closed_on_the_day()
    {
        DaySpec.Given(new SeatsHeld(Day, Other, 8, 10)).When(new HoldSeats(Day, Id, 3, 10)).Then(new SeatsRefused(Day, Id, 3, 2));
        DaySpec.Given(new SeatsHeld(Day, Other, 8, 10)).When(new HoldSeats(Day, Id, 3, 10))
            .ThenState(DayState(ImmutableDictionary<Guid, int>.Empty.Add(Other, 8), Id));
    }

    [Fact]
    public void Given_exactly_enough_seats_when_held_then_they_are_held() =>
        DaySpec.Given(new SeatsHeld(Day, Other, 7, 10)).When(new HoldSeats(Day, Id, 3, 10)).Then(new SeatsHeld(Day, Id, 3, 10));

    [Fact]
    public void Given_already_held_when_held_again_then_nothing_happens() =>
        DaySpec.Given(new SeatsHeld(Day, Id, 3, 10)).When(new HoldSeats(Day, Id, 3, 10)).Then();

    [Fact]
    public void Given_refused_when_held_late_then_nothing_happens() =>
        DaySpec.Given(new SeatsHeld(Day, Other, 10, 10), new SeatsRefused(Day, Id, 3, 0), new SeatsReleased(Day, Other, 10))
            .When(new HoldSeats(Day, Id, 3, 10)).Then();

    [Fact]
    public void Given_released_before_held_when_held_late_then_nothing_happens() =>
        DaySpec.Given(new SeatsReleased(Day, Id, 0)).When(new HoldSeats(Day, Id, 3, 10)).Then();
}
