using EventSourcing.Testing.Processes;

namespace EventSourcing.Testing.Postgres;

/// <summary>
/// Stopping and removing the cluster: on dispose; at process exit or SIGTERM if never disposed (see
/// <see cref="ExitCleanup"/>); and, for a process killed outright, by the next <see cref="StartAsync"/>, which removes
/// folders whose owning process is gone (see <see cref="OwnedFolder"/>).
/// </summary>
internal sealed partial class LocalCluster
{
    private static readonly TimeSpan ExitStopTimeout = TimeSpan.FromSeconds(10);

    private readonly ExitCleanup _cleanup;

    private bool IsRunning => IsRunningIn(DataDirectory);

    public async ValueTask DisposeAsync()
    {
        if (!_cleanup.ClaimForDispose())
        {
            return;
        }

        if (IsRunning)
        {
            var (fileName, arguments) = StopCommand(_binDirectory, _runAsServiceUser, DataDirectory);
            await ExternalProcess.RunAsync(fileName, arguments, CancellationToken.None).ConfigureAwait(false);
        }

        OwnedFolder.Delete(Root);
    }

    private static bool IsRunningIn(string dataDirectory) => File.Exists(Path.Combine(dataDirectory, "postmaster.pid"));

    private static (string FileName, IEnumerable<string> Arguments) StopCommand(
        string binDirectory, bool runAsServiceUser, string dataDirectory, PostgresStopMode mode = PostgresStopMode.Immediate) =>
        Command(binDirectory, runAsServiceUser, "pg_ctl", ["-D", dataDirectory, "-m", mode == PostgresStopMode.Fast ? "fast" : "immediate", "-w", "stop"]);

    /// <summary>Removes clusters left by test processes that were killed before they could clean up.</summary>
    private static Task RemoveLeftoversAsync(string binDirectory, bool runAsServiceUser, CancellationToken cancellationToken) =>
        OwnedFolder.RemoveLeftoversAsync(
            FolderPrefix,
            async (root, cancellationToken) =>
            {
                var dataDirectory = Path.Combine(root, "data");
                if (!IsRunningIn(dataDirectory))
                {
                    return true;
                }

                var (fileName, arguments) = StopCommand(binDirectory, runAsServiceUser, dataDirectory);
                var stop = await ExternalProcess.RunAsync(fileName, arguments, cancellationToken).ConfigureAwait(false);
                return stop.Succeeded || !IsRunningIn(dataDirectory);
            },
            cancellationToken);

    /// <summary>The fallback when the owner never disposed the cluster: nothing can be awaited or thrown here.</summary>
    private void StopAtExit()
    {
        try
        {
            if (IsRunning)
            {
                var (fileName, arguments) = StopCommand(_binDirectory, _runAsServiceUser, DataDirectory);
                ExternalProcess.Run(fileName, arguments, ExitStopTimeout);
            }

            OwnedFolder.Delete(Root);
        }
        catch (Exception exception) when (exception is InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"Could not remove the PostgreSQL cluster in {Root}: {exception.Message}");
        }
    }
}
