using System.Collections.Immutable;
using Reservations.Domain;
using static Reservations.Tests.Specs.Given;

namespace Reservations.Tests.Specs;

public sealed class ReleaseSeatsSpecs
{
    [Fact]
    public void Given_held_when_released_then_the_seats_go_back()
    {
        DaySpec.Given(new SeatsHeld(Day, Id, 3, 10)).When(new ReleaseSeats(Day, Id)).Then(new SeatsReleased(Day, Id, 3));
        DaySpec.Given(new SeatsHeld(Day, Id, 3, 10)).When(new ReleaseSeats(Day, Id)).ThenState(DayState(ImmutableDictionary<Guid, int>.Empty, Id));
    }

    [Fact]
    public void Given_nothing_held_when_released_then_the_reservation_is_closed_with_no_seats() =>
        DaySpec.When(new ReleaseSeats(Day, Id)).Then(new SeatsReleased(Day, Id, 0));

    [Fact]
    public void Given_released_when_released_again_then_nothing_happens() =>
        DaySpec.Given(new SeatsHeld(Day, Id, 3, 10), new SeatsReleased(Day, Id, 3)).When(new ReleaseSeats(Day, Id)).Then();

    [Fact]
    public void Given_refused_when_released_then_nothing_happens() =>
        DaySpec.Given(new SeatsRefused(Day, Id, 3, 0)).When(new ReleaseSeats(Day, Id)).Then();
}
