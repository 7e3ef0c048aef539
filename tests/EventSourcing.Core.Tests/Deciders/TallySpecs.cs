using EventSourcing.Testing.Contracts.Domain;
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

    [Fact]
    public void ThenState_asserts_the_state_after_the_commands_events() =>
        Spec.Given(new TallyIncreased(5, 5)).When(new CloseTally("t")).ThenState(new Tally.Closed(5));

    [Fact]
    public void ThenState_without_a_command_asserts_the_state_of_the_given_events() =>
        Spec.Given(new TallyIncreased(5, 5), new TallyIncreased(1, 6)).ThenState(state => Assert.Equal(new Tally.Open(6), state));

    [Fact]
    public void ThenState_that_does_not_hold_fails_with_both_states()
    {
        var failure = Assert.Throws<DeciderSpecificationException>(() =>
            Spec.Given(new TallyIncreased(5, 5)).When(new AddToTally("t", 2, "n")).ThenState(new Tally.Open(8)));

        Assert.Contains("Open {\"total\":8}", failure.Message, StringComparison.Ordinal);
        Assert.Contains("Open {\"total\":7}", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ThenState_when_the_decider_refuses_fails_naming_the_refusal()
    {
        var failure = Assert.Throws<DeciderSpecificationException>(() =>
            Spec.Given(new TallyClosed(3)).When(new AddToTally("t", 1, "n")).ThenState(new Tally.Closed(3)));

        Assert.Contains(nameof(DomainException), failure.Message, StringComparison.Ordinal);
    }
}
