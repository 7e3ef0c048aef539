using System.Globalization;
using EventSourcing.Testing.Processes;

namespace EventSourcing.Testing.Nats;

/// <summary>
/// A <c>nats-server</c> process of its own: JetStream on, bound to 127.0.0.1 on a free port, its store and log in a fresh
/// temp folder. Stopped and started again on the same port and store; on dispose killed and the folder deleted (see
/// <c>LocalNatsServer.Cleanup.cs</c> for what ends it when the owner never disposes it).
/// </summary>
internal sealed partial class LocalNatsServer : IAsyncDisposable
{
    private const string FolderPrefix = "eventsourcing-nats-";
    private const int PortAttempts = 3;
    private static readonly TimeSpan GracefulStopTimeout = TimeSpan.FromSeconds(10);

    private readonly string _program;
    private readonly NatsServerOptions _options;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private ServerProcess? _running;
    private int _port;

    private LocalNatsServer(string program, NatsServerOptions options, string root)
    {
        _program = program;
        _options = options;
        Root = root;
        Directory.CreateDirectory(StoreDirectory);
        _cleanup = new ExitCleanup(StopAtExit);
    }

    /// <summary>The temp folder holding the store, the server log and the owner stamp.</summary>
    public string Root { get; }

    public string StoreDirectory => Path.Combine(Root, "store");

    public bool Restartable => _options.Restartable;

    public string Url => $"nats://127.0.0.1:{_port.ToString(CultureInfo.InvariantCulture)}";

    public bool IsRunning => _running is { Process.HasExited: false };

    private string LogFile => Path.Combine(Root, "server.log");

    private string PidFile => Path.Combine(Root, "server.pid");

    public static async Task<LocalNatsServer> StartAsync(string program, NatsServerOptions options, CancellationToken cancellationToken)
    {
        await RemoveLeftoversAsync(cancellationToken).ConfigureAwait(false);
        var server = new LocalNatsServer(program, options, OwnedFolder.Create(FolderPrefix));
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await server.LaunchAsync(LoopbackPort.Free(), cancellationToken).ConfigureAwait(false);
                    return server;
                }
                catch (InvalidOperationException exception) when (attempt < PortAttempts && exception.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
                {
                    // Another process took the port between probing and binding: try a fresh one.
                }
            }
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Ends the process (<c>SIGTERM</c>, or <c>SIGKILL</c> at once) and waits until it has ended; the store stays.</summary>
    public async Task StopAsync(NatsStopMode mode, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var running = _running ?? throw new InvalidOperationException("The NATS server is not running.");
            await running.StopAsync(mode, GracefulStopTimeout, cancellationToken).ConfigureAwait(false);
            _running = null;
            running.Dispose();
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Starts the stopped server again: the same port and store.</summary>
    public async Task StartAgainAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_running is not null)
            {
                throw new InvalidOperationException("The NATS server runs already: stop it first.");
            }

            await LaunchAsync(_port, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Sends <c>kill -{signal}</c> to the running server (<c>STOP</c> freezes it, <c>CONT</c> lets it run again).</summary>
    public async Task SignalAsync(string signal, CancellationToken cancellationToken)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("Pausing the server needs Linux (kill).");
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var running = _running ?? throw new InvalidOperationException("The NATS server is not running.");
            var result = await ExternalProcess.SignalAsync(signal, [running.Process.Id.ToString(CultureInfo.InvariantCulture)], cancellationToken).ConfigureAwait(false);
            if (!result.Succeeded)
            {
                throw new InvalidOperationException($"Could not send {signal} to the NATS server.{Environment.NewLine}{result}{Environment.NewLine}{LogTail(running)}");
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The last lines of the server log, and what the process printed, for error messages.</summary>
    public string LogTail(ServerProcess? process = null, int lines = 30)
    {
        var output = (process ?? _running)?.Output;
        var printed = string.IsNullOrWhiteSpace(output) ? string.Empty : $"{Environment.NewLine}It printed:{Environment.NewLine}{output}";
        try
        {
            var tail = File.Exists(LogFile) ? File.ReadLines(LogFile).TakeLast(lines) : [];
            return $"Last lines of {LogFile}:{Environment.NewLine}{string.Join(Environment.NewLine, tail)}{printed}";
        }
        catch (IOException exception)
        {
            return $"(no server log: {exception.Message}){printed}";
        }
    }

    private async Task LaunchAsync(int port, CancellationToken cancellationToken)
    {
        string[] arguments =
        [
            "-js", "-a", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-sd", StoreDirectory,
            "-l", LogFile, "-P", PidFile, "-n", $"eventsourcing-test-{port.ToString(CultureInfo.InvariantCulture)}",
        ];
        var running = ServerProcess.Start(_program, arguments);
        _port = port;
        try
        {
            await NatsProbe.WaitUntilReadyAsync(
                    Url,
                    _options.StartTimeout,
                    () => LogTail(running),
                    () => running.Process.HasExited ? "nats-server exited before it accepted connections." : null,
                    cancellationToken)
                .ConfigureAwait(false);
        }
        catch
        {
            await running.StopAsync(NatsStopMode.Kill, GracefulStopTimeout, CancellationToken.None).ConfigureAwait(false);
            running.Dispose();
            throw;
        }

        _running = running;
    }
}
