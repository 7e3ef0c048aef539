using System.Diagnostics;
using System.Globalization;

namespace EventSourcing.Benchmarks.Harness;

/// <summary>
/// CPU time spent while a variant ran: by this process, and by the whole machine (Linux <c>/proc/stat</c>), so a run
/// can say where the cores went (the rest is PostgreSQL, the sample's process, or other load on the machine).
/// </summary>
public readonly record struct CpuSample(TimeSpan Process, TimeSpan Machine)
{
    private const string Stat = "/proc/stat";

    public static CpuSample Take()
    {
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        return new CpuSample(process.TotalProcessorTime, MachineBusy());
    }

    public static CpuSample operator -(CpuSample end, CpuSample start) => new(end.Process - start.Process, end.Machine - start.Machine);

    public static CpuSample operator +(CpuSample left, CpuSample right) => new(left.Process + right.Process, left.Machine + right.Machine);

    public CpuSample Subtract(CpuSample start) => this - start;

    public CpuSample Add(CpuSample other) => this + other;

    /// <summary>Busy time of all cores (user, nice, system, irq, softirq, steal), or zero where <c>/proc/stat</c> is missing.</summary>
    private static TimeSpan MachineBusy()
    {
        if (!File.Exists(Stat))
        {
            return TimeSpan.Zero;
        }

        var fields = File.ReadLines(Stat).First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        long Field(int index) => long.Parse(fields[index], CultureInfo.InvariantCulture);
        var busyTicks = Field(1) + Field(2) + Field(3) + Field(6) + Field(7) + Field(8);
        return TimeSpan.FromSeconds(busyTicks / 100.0); // USER_HZ is 100 on Linux
    }
}

/// <summary>The median wall time of a variant over its rounds and the CPU it used in total.</summary>
public sealed record VariantTiming(TimeSpan Median, CpuSample Cpu, int Rounds)
{
    /// <summary>CPU milliseconds per operation: this process, and the machine as a whole.</summary>
    public (double Process, double Machine) CpuPerOperation(long operationsPerRound) =>
        (Cpu.Process.TotalMilliseconds / (operationsPerRound * (double)Rounds), Cpu.Machine.TotalMilliseconds / (operationsPerRound * (double)Rounds));

    internal static Stopwatch Start() => Stopwatch.StartNew();
}
