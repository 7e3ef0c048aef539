using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace EventSourcing.Testing.Nats;

/// <summary>
/// Stopping the server and removing its folder: on dispose; at process exit or SIGTERM if never disposed; for a process
/// killed outright, the watchdog of <see cref="ServerProcess"/> kills the server, and the next <see cref="StartAsync"/>
/// removes folders whose owning process is gone.
/// </summary>
internal sealed partial class LocalNatsServer
{
    private const string OwnerFile = "owner";
    private static readonly TimeSpan StartTimeMargin = TimeSpan.FromSeconds(5);

    private PosixSignalRegistration? _sigterm;
    private int _disposed;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        UnregisterExitHooks();
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_running is { } running)
            {
                await running.StopAsync(NatsStopMode.Kill, GracefulStopTimeout, CancellationToken.None).ConfigureAwait(false);
                running.Dispose();
                _running = null;
            }
        }
        finally
        {
            _gate.Release();
        }

        DeleteRoot(Root);
    }

    private static bool OwnerIsAlive(string root)
    {
        try
        {
            var parts = File.ReadAllText(Path.Combine(root, OwnerFile)).Split(' ');
            using var owner = Process.GetProcessById(int.Parse(parts[0], CultureInfo.InvariantCulture));
            // The same process within a margin (start times are recomputed at each reading), a reused id well outside it.
            var recorded = new DateTime(long.Parse(parts[1], CultureInfo.InvariantCulture), DateTimeKind.Utc);
            return (owner.StartTime.ToUniversalTime() - recorded).Duration() < StartTimeMargin;
        }
        catch (ArgumentException)
        {
            return false;   // no such process
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException or InvalidOperationException)
        {
            return true;    // not ours to judge: leave it
        }
    }

    /// <summary>Removes the folders (and any server still running in one) of test processes that ended without cleaning up.</summary>
    private static void RemoveLeftovers()
    {
        foreach (var root in Directory.EnumerateDirectories(Path.GetTempPath(), FolderPrefix + "*"))
        {
            if (OwnerIsAlive(root))
            {
                continue;
            }

            try
            {
                KillServerOf(root);
                DeleteRoot(root);
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                // Another process is removing it, or it is not ours to remove.
            }
        }
    }

    /// <summary>Kills the server whose pid file is in <paramref name="root"/>, if that process still runs with this folder.</summary>
    private static void KillServerOf(string root)
    {
        var pidFile = Path.Combine(root, "server.pid");
        if (!File.Exists(pidFile) || !int.TryParse(File.ReadAllText(pidFile).Trim(), CultureInfo.InvariantCulture, out var pid))
        {
            return;
        }

        var commandLine = $"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/cmdline";
        if (!File.Exists(commandLine) || !File.ReadAllText(commandLine).Contains(root, StringComparison.Ordinal))
        {
            return;
        }

        try
        {
            using var process = Process.GetProcessById(pid);
            process.Kill();
            process.WaitForExit(TimeSpan.FromSeconds(10));
        }
        catch (Exception exception) when (exception is ArgumentException or InvalidOperationException)
        {
            // It has exited already.
        }
    }

    private static void DeleteRoot(string root)
    {
        try
        {
            Directory.Delete(root, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // Already gone.
        }
    }

    private void WriteOwner()
    {
        using var current = Process.GetCurrentProcess();
        File.WriteAllText(
            Path.Combine(Root, OwnerFile),
            string.Create(CultureInfo.InvariantCulture, $"{current.Id} {current.StartTime.ToUniversalTime().Ticks}"));
    }

    private void RegisterExitHooks()
    {
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
        try
        {
            _sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => StopAtExit());
        }
        catch (PlatformNotSupportedException)
        {
            // ProcessExit alone, then.
        }
    }

    private void UnregisterExitHooks()
    {
        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        _sigterm?.Dispose();
    }

    private void OnProcessExit(object? sender, EventArgs e) => StopAtExit();

    /// <summary>The fallback when the owner never disposed the server: nothing can be awaited or thrown here.</summary>
    private void StopAtExit()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        try
        {
            _running?.KillNow();
            _running?.Process.WaitForExit(TimeSpan.FromSeconds(10));
            DeleteRoot(Root);
        }
        catch (Exception exception) when (exception is InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"Could not remove the NATS server folder {Root}: {exception.Message}");
        }
    }
}
