using EventSourcing.Deciders;
using Reservations.Domain;
using static Reservations.Tests.Specs.Given;

namespace Reservations.Tests.Specs;

public sealed class ConfirmReservationSpecs
{
    [Fact]
    public void Given_tentative_when_confirmed_then_it_is_confirmed()
    {
        ReservationSpec.Given(Placed()).When(new ConfirmReservation(Id, Now)).Then(new ReservationConfirmed(Id, Now));
        ReservationSpec.Given(Placed()).When(new ConfirmReservation(Id, Now)).ThenState(new Reservation.Confirmed(Id, Day, 2));
    }

    [Fact]
    public void Given_confirmed_when_confirmed_again_then_nothing_happens() =>
        ReservationSpec.Given(Placed(), new ReservationConfirmed(Id, Now)).When(new ConfirmReservation(Id, Now)).Then();

    [Fact]
    public void Given_cancelled_while_tentative_when_confirmed_then_it_is_refused() =>
        ReservationSpec.Given(Placed(), new ReservationCancelled(Id, false, Day, 2, Now)).When(new ConfirmReservation(Id, Now)).ThenThrows<DomainException>();

    [Fact]
    public void Given_no_reservation_when_confirmed_then_it_is_not_found() =>
        Assert.Equal(Id, ReservationSpec.When(new ConfirmReservation(Id, Now)).ThenThrows<ReservationNotFoundException>().Id);
}
