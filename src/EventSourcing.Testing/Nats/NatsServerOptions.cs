namespace EventSourcing.Testing.Nats;

/// <summary>How <see cref="NatsServer.StartAsync"/> finds or starts a NATS server.</summary>
public sealed class NatsServerOptions
{
    /// <summary>
    /// The environment variable that may hold the URL of a server to use as it is (never stopped). Defaults to
    /// <see cref="NatsServer.UrlVariable"/>.
    /// </summary>
    public string UrlVariable { get; init; } = NatsServer.UrlVariable;

    /// <summary>
    /// The <c>nats-server</c> program. When <see langword="null"/> (the default) it is looked for on the PATH, then in
    /// <c>/usr/sbin</c>, <c>/usr/bin</c> and <c>/usr/local/bin</c>.
    /// </summary>
    public string? ServerPath { get; init; }

    /// <summary>How long to wait for the server to accept connections. Defaults to 30 seconds.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Whether the test will stop the server and start it again (<see cref="NatsServer.StopAsync"/>,
    /// <see cref="NatsServer.StartAgainAsync"/>): then the server is always a local one this library starts, never the
    /// external server of <see cref="UrlVariable"/> (others use it). Defaults to <see langword="false"/>.
    /// </summary>
    public bool Restartable { get; init; }
}
