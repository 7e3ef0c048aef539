using EventSourcing.Deciders;
using Reservations.Domain;
using static Reservations.Tests.Specs.Given;

namespace Reservations.Tests.Specs;

public sealed class RejectReservationSpecs
{
    [Fact]
    public void Given_tentative_when_rejected_then_it_is_rejected()
    {
        ReservationSpec.Given(Placed()).When(new RejectReservation(Id, "sold-out", Now)).Then(new ReservationRejected(Id, "sold-out", Now));
        ReservationSpec.Given(Placed()).When(new RejectReservation(Id, "sold-out", Now)).ThenState(new Reservation.Rejected(Id));
    }

    [Fact]
    public void Given_rejected_when_rejected_again_then_nothing_happens() =>
        ReservationSpec.Given(Placed(), new ReservationRejected(Id, "sold-out", Now)).When(new RejectReservation(Id, "sold-out", Now)).Then();

    [Fact]
    public void Given_cancelled_before_the_day_refused_when_rejected_then_nothing_happens() =>
        ReservationSpec.Given(Placed(), new ReservationCancelled(Id, false, Day, 2, Now)).When(new RejectReservation(Id, "sold-out", Now)).Then();

    [Fact]
    public void Given_confirmed_when_rejected_then_it_is_refused() =>
        ReservationSpec.Given(Placed(), new ReservationConfirmed(Id, Now)).When(new RejectReservation(Id, "sold-out", Now)).ThenThrows<DomainException>();
}
