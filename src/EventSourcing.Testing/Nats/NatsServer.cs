namespace EventSourcing.Testing.Nats;

/// <summary>
/// A NATS server with JetStream for integration tests, independent of any test framework: the server named by
/// <see cref="UrlVariable"/> when that is set, otherwise a throwaway <c>nats-server</c> started from the installed
/// program (JetStream on, loopback only, a free port, its store in a temp folder). Disposing it stops what it started and
/// removes the folder. A server it starts also ends when the test process ends, however it ends.
/// </summary>
/// <example>
/// <code>
/// await using var server = await NatsServer.StartAsync();
/// await using var connection = new NatsConnection(new NatsOpts { Url = server.Url });
/// </code>
/// </example>
public sealed class NatsServer : IAsyncDisposable
{
    /// <summary>
    /// The environment variable that, when it holds a URL (<c>nats://host:port</c>), makes every <see cref="NatsServer"/>
    /// that need not be restartable use that server instead of starting one. The server must have JetStream on.
    /// </summary>
    public const string UrlVariable = "EVENTSOURCING_TEST_NATS";

    private readonly LocalNatsServer? _local;
    private int _disposed;

    private NatsServer(string url, NatsServerKind kind, LocalNatsServer? local)
    {
        Url = url;
        Kind = kind;
        _local = local;
    }

    /// <summary>The URL clients connect to, for example <c>nats://127.0.0.1:38117</c>.</summary>
    public string Url { get; }

    /// <summary>Where the server comes from.</summary>
    public NatsServerKind Kind { get; }

    /// <summary>The JetStream store folder of a local server (kept across restarts); <see langword="null"/> for an external one.</summary>
    public string? StoreDirectory => _local?.StoreDirectory;

    /// <summary>The temp folder of a local server (store, log), removed on dispose; <see langword="null"/> for an external one.</summary>
    public string? RootDirectory => _local?.Root;

    /// <summary>Whether the server's process runs (always <see langword="true"/> for an external server).</summary>
    public bool IsRunning => _local?.IsRunning ?? true;

    /// <summary>
    /// Finds or starts a NATS server, in this order: the URL in the environment variable
    /// <see cref="NatsServerOptions.UrlVariable"/> (unless the server must be restartable); a throwaway <c>nats-server</c>
    /// (<c>-js -a 127.0.0.1 -p {free port} -sd {temp folder}</c>, no monitoring port). Returns once the server accepts
    /// connections.
    /// </summary>
    /// <param name="options">Where to look and how long to wait; <see langword="null"/> for the defaults.</param>
    /// <param name="cancellationToken">Cancels the start; whatever was started is removed.</param>
    /// <returns>The running server; dispose it to stop it.</returns>
    /// <exception cref="InvalidOperationException">
    /// <c>nats-server</c> is not installed (the message says what to install), or it failed to start (the message holds
    /// the end of its log).
    /// </exception>
    /// <exception cref="TimeoutException">The server did not accept connections within the start timeout.</exception>
    public static async Task<NatsServer> StartAsync(NatsServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new NatsServerOptions();
        var external = options.Restartable ? null : Environment.GetEnvironmentVariable(options.UrlVariable);
        if (!string.IsNullOrWhiteSpace(external))
        {
            await NatsProbe.WaitUntilReadyAsync(external, options.StartTimeout, () => $"Check the URL in {options.UrlVariable}.", ended: null, cancellationToken)
                .ConfigureAwait(false);
            return new NatsServer(external, NatsServerKind.External, local: null);
        }

        var program = NatsServerProgram.Find(options.ServerPath) ?? throw new InvalidOperationException(
            "No NATS server for the tests: the nats-server program is not installed. Install it (Debian/Ubuntu: " +
            "`apt-get install nats-server`; `.ci/run` installs it in CI), or give its path in NatsServerOptions.ServerPath" +
            (options.Restartable
                ? ". A restartable server is always one the tests start, so the external server of " + options.UrlVariable + " does not serve here."
                : $", or set {options.UrlVariable} to the URL of a server with JetStream to use."));
        var local = await LocalNatsServer.StartAsync(program, options, cancellationToken).ConfigureAwait(false);
        return new NatsServer(local.Url, NatsServerKind.Local, local);
    }

    /// <summary>
    /// Stops the server, as an outage would, keeping its port and JetStream store for <see cref="StartAgainAsync"/>. Only
    /// for a server started with <see cref="NatsServerOptions.Restartable"/>.
    /// </summary>
    /// <param name="mode">A graceful stop (<c>SIGTERM</c>), or <c>kill -9</c> as a crash.</param>
    /// <param name="cancellationToken">Cancels the wait for the process to end.</param>
    /// <returns>A task that completes once the process has ended.</returns>
    /// <exception cref="NotSupportedException">The server is external, or was not started as restartable.</exception>
    public Task StopAsync(NatsStopMode mode = NatsStopMode.Graceful, CancellationToken cancellationToken = default) =>
        Restartable().StopAsync(mode, cancellationToken);

    /// <summary>Starts the server stopped by <see cref="StopAsync"/> again, on the same port with the same store.</summary>
    /// <param name="cancellationToken">Cancels the wait for the server to accept connections.</param>
    /// <returns>A task that completes once the server accepts connections.</returns>
    /// <exception cref="NotSupportedException">The server is external, or was not started as restartable.</exception>
    /// <exception cref="InvalidOperationException">The server runs already, or did not start (the message holds the end of its log).</exception>
    public Task StartAgainAsync(CancellationToken cancellationToken = default) => Restartable().StartAgainAsync(cancellationToken);

    /// <summary>
    /// Freezes the server (<c>SIGSTOP</c>) until <see cref="ResumeAsync"/>: it still accepts connections, as the kernel does
    /// that, but answers nothing, as a hung or overloaded broker would. Only for a server started with
    /// <see cref="NatsServerOptions.Restartable"/>, on Linux.
    /// </summary>
    /// <param name="cancellationToken">Cancels the wait for the signal to be sent.</param>
    /// <returns>A task that completes once the server is frozen.</returns>
    /// <exception cref="NotSupportedException">The server is external, or was not started as restartable.</exception>
    /// <exception cref="InvalidOperationException">The server is stopped.</exception>
    public Task PauseAsync(CancellationToken cancellationToken = default) => Restartable().SignalAsync("STOP", cancellationToken);

    /// <summary>Lets the server frozen by <see cref="PauseAsync"/> run again (<c>SIGCONT</c>).</summary>
    /// <param name="cancellationToken">Cancels the wait for the signal to be sent.</param>
    /// <returns>A task that completes once the server runs again.</returns>
    /// <exception cref="NotSupportedException">The server is external, or was not started as restartable.</exception>
    /// <exception cref="InvalidOperationException">The server is stopped.</exception>
    public Task ResumeAsync(CancellationToken cancellationToken = default) => Restartable().SignalAsync("CONT", cancellationToken);

    /// <summary>Stops a server this instance started and deletes its folder; leaves an external server as it is.</summary>
    /// <returns>A task that completes when everything is removed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        if (_local is not null)
        {
            await _local.DisposeAsync().ConfigureAwait(false);
        }
    }

    private LocalNatsServer Restartable()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) == 1, this);
        return _local is { Restartable: true } local ? local : throw new NotSupportedException(
            $"Only a local server started with NatsServerOptions.Restartable can be stopped and started again, not this {Kind} one.");
    }
}
