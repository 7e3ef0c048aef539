namespace EventSourcing.Nats.Tests;

public sealed class NatsSubjectsTests
{
    [Theory]
    [InlineData("order-17", "eventsourcing.order.order-17")]
    [InlineData("day-2030-06-01", "eventsourcing.day.day-2030-06-01")]
    [InlineData("nodash", "eventsourcing.nodash.nodash")]
    [InlineData("-leading", "eventsourcing.-leading.-leading")]
    [InlineData("order-a.b c", "eventsourcing.order.order-a%2Eb%20c")]
    [InlineData("x-*>%", "eventsourcing.x.x-%2A%3E%25")]
    [InlineData("gäst-1", "eventsourcing.g%C3%A4st.g%C3%A4st-1")]
    public void A_stream_id_gives_one_subject_of_three_safe_tokens(string streamId, string subject)
    {
        Assert.Equal(subject, NatsSubjects.For("eventsourcing", streamId));
    }

    [Theory]
    [InlineData("order-a.b c*>%\t")]
    [InlineData("gäst-✓-🙂")]
    [InlineData("plain_id-1")]
    public void A_token_decodes_to_the_string_it_encodes(string value)
    {
        var token = NatsSubjects.EncodeToken(value);

        Assert.DoesNotContain(token, c => c is '.' or '*' or '>' or ' ' || char.IsControl(c) || c > 127);
        Assert.Equal(value, NatsSubjects.DecodeToken(token));
    }

    [Fact]
    public void An_empty_stream_id_has_no_subject()
    {
        Assert.Throws<ArgumentException>(() => NatsSubjects.For("eventsourcing", ""));
    }
}
