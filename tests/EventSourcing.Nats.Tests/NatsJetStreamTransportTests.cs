using System.Collections.Concurrent;
using EventSourcing.Forwarding;
using EventSourcing.Testing.Contracts.Forwarding;
using EventSourcing.Tests.Shared.Nats;

namespace EventSourcing.Nats.Tests;

/// <summary>The transport contract on NATS JetStream: each transport publishes to a stream and subjects of its own.</summary>
public sealed class NatsJetStreamTransportTests(NatsFixture nats) : EventTransportContract
{
    private readonly ConcurrentDictionary<IEventTransport, NatsTransportOptions> _options = new();

    protected override Task<IEventTransport> CreateTransportAsync(int maxInFlight, CancellationToken cancellationToken)
    {
        var options = NatsTestOptions.Fresh(nats.Url, maxInFlight);
        var transport = new NatsJetStreamTransport(options);
        _options[transport] = options;
        return Task.FromResult<IEventTransport>(transport);
    }

    protected override Task<IReadOnlyList<ForwardedEvent>> ReadBackAsync(IEventTransport transport, CancellationToken cancellationToken) =>
        JetStreamReader.ReadAllAsync(nats.Url, _options[transport].StreamName, cancellationToken);
}
