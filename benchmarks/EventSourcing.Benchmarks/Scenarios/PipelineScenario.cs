using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using EventSourcing.Benchmarks.Domain;
using EventSourcing.Benchmarks.Harness;
using EventSourcing.Deciders;
using Mediator;
using Microsoft.Extensions.DependencyInjection;

namespace EventSourcing.Benchmarks.Scenarios;

/// <summary>
/// The in-memory command pipeline under BenchmarkDotNet (with allocations): <c>mediator.Send</c> through validation and
/// dispatch to the decider handler (load, decide, append), against calling the application's handler directly.
/// </summary>
public static class PipelineScenario
{
    public const string Name = "pipeline";

    public static async Task<ScenarioReport> RunAsync(BenchmarkContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var report = new ScenarioReport(Name, context.Quick) { Machine = await context.DescribeAsync(withPostgres: false, cancellationToken).ConfigureAwait(false) };
        var job = (context.Quick ? Job.Dry.WithIterationCount(2) : Job.Default.WithWarmupCount(3).WithIterationCount(15))
            .WithInvocationCount(PipelineBenchmarks.CommandsPerIteration(context.Quick))
            .WithUnrollFactor(1)
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithEnvironmentVariable(PipelineBenchmarks.QuickVariable, context.Quick ? "1" : "0");
        var config = BenchmarkDotNetRun.Config(context, job);
        Environment.SetEnvironmentVariable(PipelineBenchmarks.QuickVariable, context.Quick ? "1" : "0"); // the in-process toolchain shares this process
        var summary = await Task.Run(() => BenchmarkRunner.Run<PipelineBenchmarks>(config), cancellationToken).ConfigureAwait(false);
        if (summary.HasCriticalValidationErrors || summary.Reports.Any(r => !r.Success))
        {
            throw new InvalidOperationException("BenchmarkDotNet could not run the pipeline benchmarks: " + string.Join("; ", summary.ValidationErrors.Select(e => e.Message)));
        }

        var direct = BenchmarkDotNetRun.Mean(summary, nameof(PipelineBenchmarks.DirectHandler));
        var pipeline = BenchmarkDotNetRun.Mean(summary, nameof(PipelineBenchmarks.Pipeline));
        report.Add(new ResultRow("direct handler call", 1, direct.Nanoseconds / 1000, "µs/command"));
        report.Add(new ResultRow("direct handler call", 1, direct.Allocated, "bytes allocated/command"));
        report.Add(new ResultRow("mediator pipeline", 1, pipeline.Nanoseconds / 1000, "µs/command", pipeline.Nanoseconds / direct.Nanoseconds, "of direct"));
        report.Add(new ResultRow("mediator pipeline", 1, pipeline.Allocated, "bytes allocated/command"));
        report.Add(new ResultRow("mediator pipeline", 1, 1e9 / pipeline.Nanoseconds, "commands/s (one thread)"));
        report.Add(new ResultRow("pipeline overhead", 1, (pipeline.Nanoseconds - direct.Nanoseconds) / 1000, "µs/command"));
        report.Check("pipeline overhead <= 2 µs per command (validation, dispatch, idempotency, over the direct handler call)", $"{(pipeline.Nanoseconds - direct.Nanoseconds) / 1000:0.00} µs", pipeline.Nanoseconds - direct.Nanoseconds <= 2_000);
        report.Check("<= 2 µs per command end to end (pipeline, load, decide, append in memory)", $"{pipeline.Nanoseconds / 1000:0.00} µs", pipeline.Nanoseconds <= 2_000);
        report.Notes.Add("BenchmarkDotNet, in-process toolchain; streams of up to 20 events, a fresh store every iteration");
        return report;
    }

}

/// <summary>The BenchmarkDotNet class: one deposit per invocation, over 1,000 streams of a store renewed every iteration.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1822:Mark members as static", Justification = "BenchmarkDotNet methods are instance methods.")]
public class PipelineBenchmarks : IDisposable
{
    public const string QuickVariable = "EVENTSOURCING_BENCH_QUICK";
    private const int Streams = 1_000;

    private ServiceProvider? _services;
    private IMediator _mediator = null!;
    private DepositHandler _handler = null!;
    private Deposit[] _commands = [];
    private int _next;

    public static int CommandsPerIteration(bool quick) => quick ? 2_000 : 20_000;

    [IterationSetup]
    public void Renew()
    {
        _services?.Dispose();
        _services = Apps.Build(postgres: null);
        _mediator = _services.GetRequiredService<IMediator>();
        _handler = new DepositHandler(_services.GetRequiredService<DeciderHandler<Deposit, Deposited, AccountState>>());
        var count = CommandsPerIteration(Environment.GetEnvironmentVariable(QuickVariable) == "1");
        _commands = [.. Enumerable.Range(0, count).Select(i => new Deposit($"acc-{i % Streams}", 1 + (i % 100)))];
        _next = 0;
    }

    [Benchmark(Baseline = true)]
    public async Task<CommandResult> DirectHandler() => await _handler.Handle(_commands[_next++], CancellationToken.None).ConfigureAwait(false);

    [Benchmark]
    public async Task<CommandResult> Pipeline() => await _mediator.Send(_commands[_next++], CancellationToken.None).ConfigureAwait(false);

    public void Dispose()
    {
        _services?.Dispose();
        GC.SuppressFinalize(this);
    }
}
