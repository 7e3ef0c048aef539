using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Reports;

namespace EventSourcing.Benchmarks.Harness;

/// <summary>What the scenarios run under BenchmarkDotNet share: the configuration and reading a method's mean from the summary.</summary>
public static class BenchmarkDotNetRun
{
    /// <summary>One <paramref name="job"/>, with allocations, logging unless quick, artifacts under the results folder.</summary>
    public static ManualConfig Config(BenchmarkContext context, Job job)
    {
        ArgumentNullException.ThrowIfNull(context);
        return ManualConfig.CreateEmpty()
            .AddJob(job)
            .AddDiagnoser(MemoryDiagnoser.Default)
            .AddLogger(context.Quick ? NullLogger.Instance : ConsoleLogger.Default)
            .AddColumnProvider(DefaultColumnProviders.Instance)
            .WithArtifactsPath(Path.Combine(context.ResultsDirectory, "BenchmarkDotNet"))
            .WithOptions(ConfigOptions.DisableLogFile | ConfigOptions.JoinSummary | (context.Quick ? ConfigOptions.DisableOptimizationsValidator : ConfigOptions.Default));
    }

    /// <summary>The mean time (ns) and the bytes allocated per operation of <paramref name="method"/>.</summary>
    public static (double Nanoseconds, double Allocated) Mean(Summary summary, string method)
    {
        ArgumentNullException.ThrowIfNull(summary);
        var benchmark = summary.Reports.Single(r => r.BenchmarkCase.Descriptor.WorkloadMethod.Name == method);
        return (benchmark.ResultStatistics!.Mean, benchmark.GcStats.GetBytesAllocatedPerOperation(benchmark.BenchmarkCase) ?? double.NaN);
    }
}
