using System.Diagnostics;
using System.Globalization;
using EventSourcing.Testing.Processes;

namespace EventSourcing.Testing.Nats;

/// <summary>
/// Stopping the server and removing its folder: on dispose; at process exit or SIGTERM if never disposed (see
/// <see cref="ExitCleanup"/>); for a process killed outright, the watchdog of <see cref="ServerProcess"/> kills the
/// server, and the next <see cref="StartAsync"/> removes folders whose owning process is gone (see <see cref="OwnedFolder"/>).
/// </summary>
internal sealed partial class LocalNatsServer
{
    private readonly ExitCleanup _cleanup;

    public async ValueTask DisposeAsync()
    {
        if (!_cleanup.ClaimForDispose())
        {
            return;
        }

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

        OwnedFolder.Delete(Root);
    }

    /// <summary>Removes the folders (and any server still running in one) of test processes that ended without cleaning up.</summary>
    private static Task RemoveLeftoversAsync(CancellationToken cancellationToken) =>
        OwnedFolder.RemoveLeftoversAsync(
            FolderPrefix,
            static (root, _) =>
            {
                KillServerOf(root);
                return Task.FromResult(true);
            },
            cancellationToken);

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

    /// <summary>The fallback when the owner never disposed the server: nothing can be awaited or thrown here.</summary>
    private void StopAtExit()
    {
        try
        {
            _running?.KillNow();
            _running?.Process.WaitForExit(TimeSpan.FromSeconds(10));
            OwnedFolder.Delete(Root);
        }
        catch (Exception exception) when (exception is InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"Could not remove the NATS server folder {Root}: {exception.Message}");
        }
    }
}
