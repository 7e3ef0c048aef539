using EventSourcing.Benchmarks.Domain;
using EventSourcing.Benchmarks.Harness;
using FluentValidation;
using Marten;
using Mediator;
using Microsoft.Extensions.DependencyInjection;

namespace EventSourcing.Benchmarks.Scenarios;

/// <summary>
/// One event per command, 16 concurrent callers: the full pipeline (Mediator, validation, load, decide, append) against
/// hand-written Marten code doing the same work (validate, <c>FetchForWriting</c>, decide, append, save).
/// </summary>
public static class CommandsScenario
{
    public const string Name = "commands";
    private const int Callers = 16;
    private const int StreamsPerCaller = 32;

    public static async Task<ScenarioReport> RunAsync(BenchmarkContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var perCaller = context.Size(1_000, 20);
        var rounds = context.Size(3, 1);
        var report = new ScenarioReport(Name, context.Quick) { Machine = await context.DescribeAsync(withPostgres: true, cancellationToken).ConfigureAwait(false) };
        var connectionString = await context.CreateDatabaseAsync("bench_commands", cancellationToken).ConfigureAwait(false);
        var services = Apps.Build(connectionString);
        await using var disposeServices = services.ConfigureAwait(false);
        await Apps.PrepareAsync(services, cancellationToken).ConfigureAwait(false);
        var mediator = services.GetRequiredService<IMediator>();
        var unprepared = Apps.Build(connectionString + ";Max Auto Prepare=0");
        await using var disposeUnprepared = unprepared.ConfigureAwait(false);
        var unpreparedMediator = unprepared.GetRequiredService<IMediator>();
        var marten = services.GetRequiredService<IDocumentStore>();
        var validator = services.GetRequiredService<IValidator<Deposit>>();
        var total = (long)Callers * perCaller;

        // Marten compiles its live aggregation on first use: warm both paths before anything is timed.
        await RunCallersAsync("warm-es", 2, (command, token) => mediator.Send(command, token).AsTask(), cancellationToken).ConfigureAwait(false);
        await RunCallersAsync("warm-unprepared", 2, (command, token) => unpreparedMediator.Send(command, token).AsTask(), cancellationToken).ConfigureAwait(false);
        await RunCallersAsync("warm-marten", 2, (command, token) => RawMartenAsync(marten, validator, command, token), cancellationToken).ConfigureAwait(false);

        context.Log($"{rounds} rounds of {total:N0} commands ({Callers} callers, {StreamsPerCaller} streams each) per variant");
        var medians = await Rounds.InterleaveAsync(
            rounds,
            [
                ("eventsourcing", (round, token) => RunCallersAsync($"es{round}", perCaller, (command, t) => mediator.Send(command, t).AsTask(), token)),
                ("eventsourcing, Max Auto Prepare=0", (round, token) => RunCallersAsync($"unprepared{round}", perCaller, (command, t) => unpreparedMediator.Send(command, t).AsTask(), token)),
                ("raw marten FetchForWriting", (round, token) => RunCallersAsync($"marten{round}", perCaller, (command, t) => RawMartenAsync(marten, validator, command, t), token)),
            ],
            context.Log,
            cancellationToken).ConfigureAwait(false);

        var ours = total / medians["eventsourcing"].Median.TotalSeconds;
        var raw = total / medians["raw marten FetchForWriting"].Median.TotalSeconds;
        var ratio = medians["eventsourcing"].Median / medians["raw marten FetchForWriting"].Median;
        report.Add(new ResultRow("eventsourcing", total, ours, "commands/s", ratio, "time of raw marten"));
        report.Add(new ResultRow("raw marten FetchForWriting", total, raw, "commands/s"));
        var unpreparedRate = total / medians["eventsourcing, Max Auto Prepare=0"].Median.TotalSeconds;
        report.Add(new ResultRow("eventsourcing, Max Auto Prepare=0", total, unpreparedRate, "commands/s", medians["eventsourcing, Max Auto Prepare=0"].Median / medians["raw marten FetchForWriting"].Median, "time of raw marten"));
        foreach (var (variant, timing) in medians)
        {
            var (process, machine) = timing.CpuPerOperation(total);
            report.Add(new ResultRow($"{variant}: CPU per command, this process", total, process, "ms"));
            report.Add(new ResultRow($"{variant}: CPU per command, whole machine", total, machine, "ms"));
            report.Add(new ResultRow($"{variant}: ceiling at full CPU ({Environment.ProcessorCount} cores / machine CPU per command)", total, Environment.ProcessorCount * 1_000 / machine, "commands/s"));
        }

        report.Check(">= 3,000 commands/s", $"{ours:N0} commands/s", ours >= 3_000);
        report.Check("<= 1.10x raw Marten time", $"{ratio:0.00}x", ratio <= 1.10);
        report.Notes.Add("UseMarten prepares statements automatically (Max Auto Prepare=50) and raw Marten shares its document store; \"Max Auto Prepare=0\" is EventSourcing with that turned off");
        report.Notes.Add($"median of {rounds} interleaved rounds; {Callers} callers; each caller round-robins over its own {StreamsPerCaller} streams (no conflicts), so streams grow to {perCaller / StreamsPerCaller} events");
        return report;
    }

    /// <summary>The baseline: what an application would write by hand on Marten alone.</summary>
    public static async Task RawMartenAsync(IDocumentStore marten, IValidator<Deposit> validator, Deposit command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(marten);
        ArgumentNullException.ThrowIfNull(validator);
        ArgumentNullException.ThrowIfNull(command);
        await validator.ValidateAndThrowAsync(command, cancellationToken).ConfigureAwait(false);
        var session = marten.LightweightSession();
        await using (session.ConfigureAwait(false))
        {
            var stream = await session.Events.FetchForWriting<MartenAccount>(AccountDecider.StreamOf(command.AccountId), cancellationToken).ConfigureAwait(false);
            var state = stream.Aggregate is { } account ? new AccountState(account.Balance, account.Deposits) : AccountDecider.Decider.Initial;
            stream.AppendMany(AccountDecider.Decide(command, state));
            await session.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static Task RunCallersAsync(string prefix, int perCaller, Func<Deposit, CancellationToken, Task> send, CancellationToken cancellationToken) =>
        Task.WhenAll(Enumerable.Range(0, Callers).Select(caller => Task.Run(
            async () =>
            {
                for (var i = 0; i < perCaller; i++)
                {
                    await send(new Deposit($"{prefix}-{caller}-{i % StreamsPerCaller}", 1 + (i % 100)), cancellationToken).ConfigureAwait(false);
                }
            },
            cancellationToken)));
}
