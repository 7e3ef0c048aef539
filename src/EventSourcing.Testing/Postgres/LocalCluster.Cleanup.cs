using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace EventSourcing.Testing.Postgres;

/// <summary>
/// Stopping and removing the cluster: on dispose; at process exit or SIGTERM if never disposed (.NET 10
/// no longer raises ProcessExit on SIGTERM, hence both); and, for a process killed outright, by the next
/// <see cref="StartAsync"/>, which removes folders whose owning process is gone.
/// </summary>
internal sealed partial class LocalCluster
{
    private const string OwnerFile = "owner";
    private static readonly TimeSpan ExitStopTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan StartTimeMargin = TimeSpan.FromSeconds(5);

    private PosixSignalRegistration? _sigterm;
    private int _stopped;

    private bool IsRunning => IsRunningIn(DataDirectory);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
        {
            return;
        }

        UnregisterExitHooks();
        if (IsRunning)
        {
            var (fileName, arguments) = StopCommand(_binDirectory, _runAsServiceUser, DataDirectory);
            await ExternalProcess.RunAsync(fileName, arguments, CancellationToken.None).ConfigureAwait(false);
        }

        DeleteRoot();
    }

    private static bool IsRunningIn(string dataDirectory) => File.Exists(Path.Combine(dataDirectory, "postmaster.pid"));

    private static (string FileName, IEnumerable<string> Arguments) StopCommand(
        string binDirectory, bool runAsServiceUser, string dataDirectory, PostgresStopMode mode = PostgresStopMode.Immediate) =>
        Command(binDirectory, runAsServiceUser, "pg_ctl", ["-D", dataDirectory, "-m", mode == PostgresStopMode.Fast ? "fast" : "immediate", "-w", "stop"]);

    /// <summary>The process id and start time of this process, to tell a live owner from a dead one.</summary>
    private static string OwnerStamp(Process process) =>
        string.Create(CultureInfo.InvariantCulture, $"{process.Id} {process.StartTime.ToUniversalTime().Ticks}");

    private static bool OwnerIsAlive(string root)
    {
        try
        {
            var parts = File.ReadAllText(Path.Combine(root, OwnerFile)).Split(' ');
            using var owner = Process.GetProcessById(int.Parse(parts[0], CultureInfo.InvariantCulture));
            // A process's start time is derived from the boot time as computed at each call, so two readings differ
            // slightly: the same process within a margin, a reused process id well outside it.
            var recorded = new DateTime(long.Parse(parts[1], CultureInfo.InvariantCulture), DateTimeKind.Utc);
            return (owner.StartTime.ToUniversalTime() - recorded).Duration() < StartTimeMargin;
        }
        catch (ArgumentException)
        {
            return false;   // no such process
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return true;    // not ours to judge: leave it
        }
    }

    /// <summary>Removes clusters left by test processes that were killed before they could clean up.</summary>
    private static async Task RemoveLeftoversAsync(string binDirectory, bool runAsServiceUser, CancellationToken cancellationToken)
    {
        foreach (var root in Directory.EnumerateDirectories(Path.GetTempPath(), FolderPrefix + "*"))
        {
            if (OwnerIsAlive(root))
            {
                continue;
            }

            try
            {
                var dataDirectory = Path.Combine(root, "data");
                if (IsRunningIn(dataDirectory))
                {
                    var (fileName, arguments) = StopCommand(binDirectory, runAsServiceUser, dataDirectory);
                    var stop = await ExternalProcess.RunAsync(fileName, arguments, cancellationToken).ConfigureAwait(false);
                    if (!stop.Succeeded && IsRunningIn(dataDirectory))
                    {
                        continue;
                    }
                }

                Directory.Delete(root, recursive: true);
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or InvalidOperationException)
            {
                // Another process is removing it, or it is not ours to remove.
            }
        }
    }

    private void WriteOwner()
    {
        using var current = Process.GetCurrentProcess();
        File.WriteAllText(Path.Combine(Root, OwnerFile), OwnerStamp(current));
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

    /// <summary>The fallback when the owner never disposed the cluster: nothing can be awaited or thrown here.</summary>
    private void StopAtExit()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
        {
            return;
        }

        try
        {
            if (IsRunning)
            {
                var (fileName, arguments) = StopCommand(_binDirectory, _runAsServiceUser, DataDirectory);
                ExternalProcess.Run(fileName, arguments, ExitStopTimeout);
            }

            DeleteRoot();
        }
        catch (Exception exception) when (exception is InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"Could not remove the PostgreSQL cluster in {Root}: {exception.Message}");
        }
    }

    private void DeleteRoot()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // Already gone.
        }
    }
}
