using EventSourcing.Testing.Nats;

namespace EventSourcing.Nats.Tests;

/// <summary>One NATS server with JetStream for the assembly: the one in EVENTSOURCING_TEST_NATS, else a throwaway one.</summary>
public sealed class NatsFixture : IAsyncLifetime
{
    private NatsServer? _server;

    public NatsServer Server => _server ?? throw new InvalidOperationException("The NATS fixture is not initialized.");

    public string Url => Server.Url;

    public async ValueTask InitializeAsync() =>
        _server = await NatsServer.StartAsync(cancellationToken: TestContext.Current.CancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
