using System.Diagnostics;
using System.Globalization;
using EventSourcing.Testing.Processes;

namespace EventSourcing.Testing.Nats;

/// <summary>
/// One run of <c>nats-server</c>, with a watchdog: a <c>sh</c> that waits on a pipe only this process holds open, and
/// kills the server (<c>kill -9</c>) when the pipe closes, that is when this process ends, even by <c>SIGKILL</c>.
/// </summary>
internal sealed class ServerProcess : IDisposable
{
    private const string WatchdogScript = "read -r _; kill -9 \"$1\" 2>/dev/null";

    private readonly Process? _watchdog;
    private readonly ProcessOutput _output;

    private ServerProcess(Process process, Process? watchdog, ProcessOutput output)
    {
        Process = process;
        _watchdog = watchdog;
        _output = output;
    }

    public Process Process { get; }

    /// <summary>What the process printed (its log goes to a file; this holds what comes before, such as a bad option).</summary>
    public string Output => _output.ToString();

    public static ServerProcess Start(string program, IEnumerable<string> arguments)
    {
        var output = new ProcessOutput();
        var process = ExternalProcess.Start(program, arguments, output);
        var watchdog = OperatingSystem.IsWindows()
            ? null
            : Process.Start(ExternalProcess.StartInfo("/bin/sh", ["-c", WatchdogScript, "nats-server-watchdog", process.Id.ToString(CultureInfo.InvariantCulture)]));
        return new ServerProcess(process, watchdog, output);
    }

    /// <summary>Ends the server and waits until it has; a graceful stop that takes too long becomes a kill.</summary>
    public async Task StopAsync(NatsStopMode mode, TimeSpan gracefulTimeout, CancellationToken cancellationToken)
    {
        if (!Process.HasExited)
        {
            if (mode == NatsStopMode.Graceful && !OperatingSystem.IsWindows())
            {
                await ExternalProcess.SignalAsync("TERM", [Process.Id.ToString(CultureInfo.InvariantCulture)], cancellationToken).ConfigureAwait(false);
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(gracefulTimeout);
                try
                {
                    await Process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    ExternalProcess.Kill(Process);
                }
            }
            else
            {
                ExternalProcess.Kill(Process);
            }

            await Process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        }

        StopWatchdog();
    }

    /// <summary>Kills the server and its watchdog without waiting: for a process-exit handler, where nothing can be awaited.</summary>
    public void KillNow()
    {
        ExternalProcess.Kill(Process);
        StopWatchdog();
    }

    public void Dispose()
    {
        StopWatchdog();
        Process.Dispose();
        _watchdog?.Dispose();
    }

    /// <summary>Kills the watchdog (its pipe stays open, so it never acts).</summary>
    private void StopWatchdog()
    {
        try
        {
            if (_watchdog is { HasExited: false })
            {
                _watchdog.Kill();
                _watchdog.WaitForExit();
            }
        }
        catch (InvalidOperationException)
        {
            // It has exited already.
        }
    }
}
