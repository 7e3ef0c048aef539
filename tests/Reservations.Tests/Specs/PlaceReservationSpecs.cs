using EventSourcing.Deciders;
using Reservations.Domain;
using static Reservations.Tests.Specs.Given;

namespace Reservations.Tests.Specs;

public sealed class PlaceReservationSpecs
{
    private static PlaceReservation Place(int partySize = 2) => new(Id, Guest, "Ada", "ada@example.com", null, Day, partySize, Now);

    [Fact]
    public void Given_no_reservation_when_placed_then_it_is_placed_and_tentative()
    {
        ReservationSpec.When(Place()).Then(Placed());
        ReservationSpec.When(Place()).ThenState(new Reservation.Tentative(Id, Day, 2));
    }

    [Fact]
    public void Given_placed_when_placed_again_then_nothing_happens() =>
        ReservationSpec.Given(Placed()).When(Place(partySize: 4)).Then();

    [Fact]
    public void Given_cancelled_when_placed_again_then_nothing_happens() =>
        ReservationSpec.Given(Placed(), new ReservationCancelled(Id, false, Day, 2, Now)).When(Place()).Then();
}
