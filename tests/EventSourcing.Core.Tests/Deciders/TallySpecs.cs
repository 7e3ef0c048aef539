using EventSourcing.Tests.Shared.Domain;
using EventSourcing.Deciders;
using EventSourcing.Testing.Deciders;

namespace EventSourcing.Core.Tests.Deciders;

public sealed class TallySpecs
{
    private static DeciderSpecification<TallyCommand, TallyEvent, Tally> Spec => DeciderSpecification.For(TallyDecider.Decider);

    [Fact]
    public void GivenNothing_WhenAdd_ThenIncreased() =>
        Spec.When(new AddToTally("t", 5, "n")).Then(new TallyIncreased(5, 5));

    [Fact]
    public void GivenIncreased_WhenAdd_ThenTotalGrows() =>
        Spec.Given(new TallyIncreased(5, 5)).When(new AddToTally("t", 2, "n")).Then(new TallyIncreased(2, 7));

    [Fact]
    public void GivenClosed_WhenClose_ThenNothing() =>
        Spec.Given(new TallyClosed(0)).When(new CloseTally("t")).Then();

    [Fact]
    public void GivenClosed_WhenAdd_ThenDomainError()
    {
        var error = Spec.Given(new TallyClosed(3)).When(new AddToTally("t", 1, "n")).ThenThrows<DomainException>();

        Assert.Contains("Closed", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_specification_that_does_not_hold_fails_with_both_event_lists()
    {
        var failure = Assert.Throws<DeciderSpecificationException>(() =>
            Spec.Given(new TallyIncreased(5, 5)).When(new AddToTally("t", 2, "n")).Then(new TallyIncreased(2, 8)));

        Assert.Contains("\"total\":8", failure.Message, StringComparison.Ordinal);
        Assert.Contains("\"total\":7", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Expecting_an_error_fails_when_events_come_instead()
    {
        Assert.Throws<DeciderSpecificationException>(() => Spec.When(new AddToTally("t", 2, "n")).ThenThrows<DomainException>());
        Assert.Throws<DeciderSpecificationException>(() => Spec.Given(new TallyClosed(0)).When(new AddToTally("t", 2, "n")).Then(new TallyIncreased(2, 2)));
        Assert.Throws<DeciderSpecificationException>(() => Spec.Then());
    }
}
