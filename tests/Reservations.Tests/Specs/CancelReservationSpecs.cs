using EventSourcing.Deciders;
using Reservations.Domain;
using static Reservations.Tests.Specs.Given;

namespace Reservations.Tests.Specs;

public sealed class CancelReservationSpecs
{
    [Fact]
    public void Given_tentative_when_cancelled_then_it_is_cancelled_holding_no_seats()
    {
        ReservationSpec.Given(Placed()).When(new CancelReservation(Id, Now)).Then(new ReservationCancelled(Id, false, Day, 2, Now));
        ReservationSpec.Given(Placed()).When(new CancelReservation(Id, Now)).ThenState(new Reservation.Cancelled(Id));
    }

    [Fact]
    public void Given_confirmed_when_cancelled_then_it_is_cancelled_giving_its_seats_back() =>
        ReservationSpec.Given(Placed(partySize: 3), new ReservationConfirmed(Id, Now)).When(new CancelReservation(Id, Now)).Then(new ReservationCancelled(Id, true, Day, 3, Now));

    [Fact]
    public void Given_cancelled_when_cancelled_again_then_nothing_happens() =>
        ReservationSpec.Given(Placed(), new ReservationCancelled(Id, false, Day, 2, Now)).When(new CancelReservation(Id, Now)).Then();

    [Fact]
    public void Given_rejected_when_cancelled_then_it_is_refused() =>
        Assert.Contains("rejected", ReservationSpec.Given(Placed(), new ReservationRejected(Id, "sold-out", Now)).When(new CancelReservation(Id, Now)).ThenThrows<DomainException>().Message, StringComparison.Ordinal);

    [Fact]
    public void Given_no_reservation_when_cancelled_then_it_is_not_found() =>
        ReservationSpec.When(new CancelReservation(Id, Now)).ThenThrows<ReservationNotFoundException>();
}
