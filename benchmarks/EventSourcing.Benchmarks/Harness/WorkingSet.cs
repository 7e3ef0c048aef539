using System.Diagnostics;
using System.Globalization;

namespace EventSourcing.Benchmarks.Harness;

/// <summary>This process's resident memory, and its peak since the last <see cref="ResetPeak"/> (Linux: <c>VmHWM</c>, reset through <c>clear_refs</c>).</summary>
public static class WorkingSet
{
    private const string Status = "/proc/self/status";

    public static long Current()
    {
        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64;
    }

    /// <summary>Starts a new peak from the current working set; false where the OS cannot (then the peak covers the whole process).</summary>
    public static bool ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            return false;
        }
    }

    public static long Peak()
    {
        if (File.Exists(Status))
        {
            var line = File.ReadLines(Status).FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
            if (line is not null)
            {
                var kilobytes = line["VmHWM:".Length..].Trim().Split(' ')[0];
                return long.Parse(kilobytes, CultureInfo.InvariantCulture) * 1024;
            }
        }

        using var process = Process.GetCurrentProcess();
        return process.PeakWorkingSet64;
    }

    public static double Megabytes(long bytes) => bytes / (1024.0 * 1024.0);
}
