using EventSourcing.Forwarding;
using Microsoft.Extensions.DependencyInjection;

namespace EventSourcing.Nats.Tests;

public sealed class NatsTransportRegistrationTests(NatsFixture nats)
{
    [Fact]
    public async Task AddNatsTransport_registers_one_transport_that_the_container_disposes()
    {
        var services = new ServiceCollection().AddNatsTransport(options =>
        {
            var fresh = NatsTestOptions.Fresh(nats.Url);
            (options.Url, options.StreamName, options.SubjectPrefix) = (fresh.Url, fresh.StreamName, fresh.SubjectPrefix);
        });
        NatsJetStreamTransport transport;
        await using (var provider = services.BuildServiceProvider())
        {
            var registered = provider.GetRequiredService<IEventTransport>();
            transport = Assert.IsType<NatsJetStreamTransport>(registered);
            Assert.Same(transport, provider.GetRequiredService<NatsJetStreamTransport>());
            Assert.Equal("nats", registered.Name);
            await registered.PublishAsync([], TestContext.Current.CancellationToken);
        }

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await transport.PublishAsync([], TestContext.Current.CancellationToken));
    }

    [Theory]
    [InlineData("EVENT.SOURCING", "eventsourcing")]
    [InlineData("EVENTSOURCING", "events.*")]
    [InlineData("EVENTSOURCING", "events..x")]
    public void Options_a_subject_or_stream_cannot_hold_are_refused_at_registration(string streamName, string prefix)
    {
        Assert.Throws<ArgumentException>(() => new ServiceCollection().AddNatsTransport(options =>
        {
            options.StreamName = streamName;
            options.SubjectPrefix = prefix;
        }));
    }

    [Fact]
    public void An_in_flight_bound_below_one_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new NatsJetStreamTransport(new NatsTransportOptions { MaxInFlight = 0 }));
    }
}
