using System.Diagnostics;
using System.Globalization;
using System.Text;
using EventSourcing.Testing.Postgres;

namespace EventSourcing.Testing.Nats;

/// <summary>
/// One run of <c>nats-server</c>, with a watchdog: a <c>sh</c> that waits on a pipe only this process holds open, and
/// kills the server (<c>kill -9</c>) when the pipe closes, that is when this process ends, even by <c>SIGKILL</c>.
/// </summary>
internal sealed class ServerProcess : IDisposable
{
    private const string WatchdogScript = "read -r _; kill -9 \"$1\" 2>/dev/null";

    private readonly Process? _watchdog;
    private readonly StringBuilder _output = new();
    private readonly Lock _lock = new();

    private ServerProcess(Process process, Process? watchdog)
    {
        Process = process;
        _watchdog = watchdog;
    }

    public Process Process { get; }

    /// <summary>What the process printed (its log goes to a file; this holds what comes before, such as a bad option).</summary>
    public string Output
    {
        get
        {
            lock (_lock)
            {
                return _output.ToString();
            }
        }
    }

    public static ServerProcess Start(string program, IEnumerable<string> arguments)
    {
        var process = new Process { StartInfo = Redirected(program, arguments) };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception exception)
        {
            process.Dispose();
            throw new InvalidOperationException($"Could not run {program}: {exception.Message}", exception);
        }

        var watchdog = OperatingSystem.IsWindows()
            ? null
            : Process.Start(Redirected("/bin/sh", ["-c", WatchdogScript, "nats-server-watchdog", process.Id.ToString(CultureInfo.InvariantCulture)]));
        var started = new ServerProcess(process, watchdog);
        process.OutputDataReceived += (_, e) => started.Append(e.Data);
        process.ErrorDataReceived += (_, e) => started.Append(e.Data);
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return started;
    }

    /// <summary>Ends the server and waits until it has; a graceful stop that takes too long becomes a kill.</summary>
    public async Task StopAsync(NatsStopMode mode, TimeSpan gracefulTimeout, CancellationToken cancellationToken)
    {
        if (!Process.HasExited)
        {
            if (mode == NatsStopMode.Graceful && !OperatingSystem.IsWindows())
            {
                await ExternalProcess.RunAsync("kill", ["-TERM", Process.Id.ToString(CultureInfo.InvariantCulture)], cancellationToken).ConfigureAwait(false);
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(gracefulTimeout);
                try
                {
                    await Process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    Kill();
                }
            }
            else
            {
                Kill();
            }

            await Process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        }

        StopWatchdog();
    }

    /// <summary>Kills the server and its watchdog without waiting: for a process-exit handler, where nothing can be awaited.</summary>
    public void KillNow()
    {
        Kill();
        StopWatchdog();
    }

    public void Dispose()
    {
        StopWatchdog();
        Process.Dispose();
        _watchdog?.Dispose();
    }

    private static ProcessStartInfo Redirected(string fileName, IEnumerable<string> arguments)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            CreateNoWindow = true,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        return startInfo;
    }

    private void Kill()
    {
        try
        {
            Process.Kill();
        }
        catch (InvalidOperationException)
        {
            // It has exited already.
        }
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

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_lock)
        {
            _output.AppendLine(line);
        }
    }
}
