using System.Diagnostics;
using System.Globalization;

namespace EventSourcing.Testing.Processes;

/// <summary>
/// Temp folders of throwaway servers, each stamped with the id and start time of the process that made it, so that a later
/// run can tell a folder still in use from one left by a process killed before it could clean up, and remove the latter.
/// </summary>
internal static class OwnedFolder
{
    private const string OwnerFile = "owner";
    private static readonly TimeSpan StartTimeMargin = TimeSpan.FromSeconds(5);

    /// <summary>Creates a fresh folder <c>{prefix}{random}</c> in the temp folder, owned by this process.</summary>
    public static string Create(string prefix)
    {
        var root = Directory.CreateTempSubdirectory(prefix).FullName;
        using var current = Process.GetCurrentProcess();
        File.WriteAllText(
            Path.Combine(root, OwnerFile),
            string.Create(CultureInfo.InvariantCulture, $"{current.Id} {current.StartTime.ToUniversalTime().Ticks}"));
        return root;
    }

    /// <summary>
    /// Removes the folders <c>{prefix}*</c> whose owning process is gone, each once <paramref name="stopServerAsync"/> has
    /// stopped any server still running in it (false: it could not, so the folder stays). A folder that another process is
    /// removing, or that is not ours to remove, is left.
    /// </summary>
    public static async Task RemoveLeftoversAsync(string prefix, Func<string, CancellationToken, Task<bool>> stopServerAsync, CancellationToken cancellationToken)
    {
        foreach (var root in Directory.EnumerateDirectories(Path.GetTempPath(), prefix + "*"))
        {
            if (OwnerIsAlive(root))
            {
                continue;
            }

            try
            {
                if (await stopServerAsync(root, cancellationToken).ConfigureAwait(false))
                {
                    Delete(root);
                }
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or InvalidOperationException)
            {
                // Another process is removing it, or it is not ours to remove.
            }
        }
    }

    /// <summary>Deletes <paramref name="root"/> and everything in it; one that is gone already is no error.</summary>
    public static void Delete(string root)
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
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException or InvalidOperationException)
        {
            return true;    // not ours to judge: leave it
        }
    }
}
