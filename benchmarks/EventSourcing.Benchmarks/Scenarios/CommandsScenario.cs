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
        var prepared = Apps.Build(new Npgsql.NpgsqlConnectionStringBuilder(connectionString) { MaxAutoPrepare = 50, AutoPrepareMinUsages = 2 }.ConnectionString);
        await using var disposePrepared = prepared.ConfigureAwait(false);
        var preparedMediator = prepared.GetRequiredService<IMediator>();
        var marten = services.GetRequiredService<IDocumentStore>();
        var validator = services.GetRequiredService<IValidator<Deposit>>();
        var total = (long)Callers * perCaller;

        // Marten compiles its live aggregation on first use: warm both paths before anything is timed.
        await RunCallersAsync("warm-es", 2, (command, token) => mediator.Send(command, token).AsTask(), cancellationToken).ConfigureAwait(false);
        await RunCallersAsync("warm-prepared", 2, (command, token) => preparedMediator.Send(command, token).AsTask(), cancellationToken).ConfigureAwait(false);
        await RunCallersAsync("warm-marten", 2, (command, token) => RawMartenAsync(marten, validator, command, token), cancellationToken).ConfigureAwait(false);

        context.Log($"{rounds} rounds of {total:N0} commands ({Callers} callers, {StreamsPerCaller} streams each) per variant");
        var medians = await Rounds.InterleaveAsync(
            rounds,
            [
                ("eventsourcing", (round, token) => RunCallersAsync($"es{round}", perCaller, (command, t) => mediator.Send(command, t).AsTask(), token)),
                ("eventsourcing, auto-prepared statements", (round, token) => RunCallersAsync($"prepared{round}", perCaller, (command, t) => preparedMediator.Send(command, t).AsTask(), token)),
                ("raw marten FetchForWriting", (round, token) => RunCallersAsync($"marten{round}", perCaller, (command, t) => RawMartenAsync(marten, validator, command, t), token)),
            ],
            context.Log,
            cancellationToken).ConfigureAwait(false);

        var ours = total / medians["eventsourcing"].Median.TotalSeconds;
        var raw = total / medians["raw marten FetchForWriting"].Median.TotalSeconds;
        var ratio = medians["eventsourcing"].Median / medians["raw marten FetchForWriting"].Median;
        report.Add(new ResultRow("eventsourcing", total, ours, "commands/s", ratio, "time of raw marten"));
        report.Add(new ResultRow("raw marten FetchForWriting", total, raw, "commands/s"));
        var preparedRate = total / medians["eventsourcing, auto-prepared statements"].Median.TotalSeconds;
        report.Add(new ResultRow("eventsourcing, auto-prepared statements", total, preparedRate, "commands/s", medians["eventsourcing, auto-prepared statements"].Median / medians["raw marten FetchForWriting"].Median, "time of raw marten"));
        foreach (var (variant, timing) in medians)
        {
            var (process, machine) = timing.CpuPerOperation(total);
            report.Add(new ResultRow($"{variant}: CPU per command, this process", total, process, "ms"));
            report.Add(new ResultRow($"{variant}: CPU per command, whole machine", total, machine, "ms"));
            report.Add(new ResultRow($"{variant}: ceiling at full CPU ({Environment.ProcessorCount} cores / machine CPU per command)", total, Environment.ProcessorCount * 1_000 / machine, "commands/s"));
        }

        report.Check(">= 3,000 commands/s", $"{ours:N0} commands/s", ours >= 3_000);
        report.Check("<= 1.10x raw Marten time", $"{ratio:0.00}x", ratio <= 1.10);
        report.Notes.Add("auto-prepared: the same code with Npgsql's Max Auto Prepare=50;Auto Prepare Min Usages=2 in the connection string");
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
