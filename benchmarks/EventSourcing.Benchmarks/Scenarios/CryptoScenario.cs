using EventSourcing.Benchmarks.Domain;
using EventSourcing.Benchmarks.Harness;
using EventSourcing.Events;
using EventSourcing.Projections;
using EventSourcing.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace EventSourcing.Benchmarks.Scenarios;

/// <summary>
/// What crypto-shredding costs: the same events appended and rebuilt with three personal fields encrypted (per-guest
/// keys, 10,000 guests) and without, side by side, in memory (where the cryptography is the largest share) and on PostgreSQL.
/// </summary>
public static partial class CryptoScenario
{
    public const string Name = "crypto";
    private const int BatchSize = 1_000;

    public static async Task<ScenarioReport> RunAsync(BenchmarkContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var report = new ScenarioReport(Name, context.Quick) { Machine = await context.DescribeAsync(withPostgres: true, cancellationToken).ConfigureAwait(false) };
        await CompareAsync(context, report, "memory", null, null, context.Size(50_000, 1_000), context.Size(5, 1), cancellationToken).ConfigureAwait(false);
        var plainDatabase = await context.CreateDatabaseAsync("bench_crypto_plain", cancellationToken).ConfigureAwait(false);
        var personalDatabase = await context.CreateDatabaseAsync("bench_crypto_personal", cancellationToken).ConfigureAwait(false);
        await CompareAsync(context, report, "postgres", plainDatabase, personalDatabase, context.Size(20_000, 1_000), context.Size(3, 1), cancellationToken).ConfigureAwait(false);
        report.Notes.Add($"append: {BatchSize:N0} events per transaction, one writer; rebuild: projection day-seats over the whole log (it reads no personal field and says so: the events are read sealed, nothing is decrypted)");
        report.Notes.Add("median of interleaved rounds; keys are created on first use of a guest, then cached");
        return report;
    }

    private static async Task CompareAsync(BenchmarkContext context, ScenarioReport report, string storeName, string? plainDatabase, string? personalDatabase, int eventsPerRound, int rounds, CancellationToken cancellationToken)
    {
        var plain = Apps.Build(plainDatabase);
        await using var disposePlain = plain.ConfigureAwait(false);
        var personal = Apps.Build(personalDatabase);
        await using var disposePersonal = personal.ConfigureAwait(false);
        await Apps.PrepareAsync(plain, cancellationToken).ConfigureAwait(false);
        await Apps.PrepareAsync(personal, cancellationToken).ConfigureAwait(false);
        var plainEvents = Batches(eventsPerRound, personal: false);
        var personalEvents = Batches(eventsPerRound, personal: true);

        // Warm up both paths (and create the guests' keys) before timing.
        await AppendAsync(plain, "warm", plainEvents, cancellationToken).ConfigureAwait(false);
        await AppendAsync(personal, "warm", personalEvents, cancellationToken).ConfigureAwait(false);

        context.Log($"{storeName}: {rounds} rounds of {eventsPerRound:N0} events per variant");
        var append = await Rounds.InterleaveAsync(
            rounds,
            [
                ("plain", (round, token) => AppendAsync(plain, $"r{round}", plainEvents, token)),
                ("personal", (round, token) => AppendAsync(personal, $"r{round}", personalEvents, token)),
            ],
            context.Log,
            cancellationToken).ConfigureAwait(false);
        var logSize = (long)eventsPerRound * (rounds + 1);
        var rebuild = await Rounds.InterleaveAsync(
            rounds,
            [
                ("plain", (_, token) => plain.GetRequiredService<ProjectionRebuilder>().RebuildAsync("day-seats", null, token)),
                ("personal", (_, token) => personal.GetRequiredService<ProjectionRebuilder>().RebuildAsync("day-seats", null, token)),
            ],
            context.Log,
            cancellationToken).ConfigureAwait(false);

        var appendRatio = append["personal"].Median / append["plain"].Median;
        var rebuildRatio = rebuild["personal"].Median / rebuild["plain"].Median;
        report.Add(new ResultRow($"{storeName} append, plain", eventsPerRound, eventsPerRound / append["plain"].Median.TotalSeconds, "events/s"));
        report.Add(new ResultRow($"{storeName} append, personal data", eventsPerRound, eventsPerRound / append["personal"].Median.TotalSeconds, "events/s", appendRatio, "time of plain"));
        report.Add(new ResultRow($"{storeName} rebuild, plain", logSize, logSize / rebuild["plain"].Median.TotalSeconds, "events/s"));
        report.Add(new ResultRow($"{storeName} rebuild, personal data", logSize, logSize / rebuild["personal"].Median.TotalSeconds, "events/s", rebuildRatio, "time of plain"));
        if (plainDatabase is null)
        {
            report.Check($"append <= 2x without personal data ({storeName})", $"{appendRatio:0.00}x", appendRatio <= 2);
            report.Check($"rebuild <= 2x without personal data ({storeName})", $"{rebuildRatio:0.00}x", rebuildRatio <= 2);
        }
        else
        {
            report.Check($"append <= 1.10x without personal data ({storeName})", $"{appendRatio:0.00}x", appendRatio <= 1.10);
            report.Check($"rebuild <= 1.30x without personal data ({storeName})", $"{rebuildRatio:0.00}x", rebuildRatio <= 1.30);
        }
    }

    private static object[][] Batches(int count, bool personal) =>
        [.. Enumerable.Range(0, count / BatchSize).Select(b => Enumerable.Range(b * BatchSize, BatchSize).Select(i => Ledger.Event(i, personal)).ToArray())];

    private static async Task AppendAsync(IServiceProvider services, string prefix, object[][] batches, CancellationToken cancellationToken)
    {
        var store = services.GetRequiredService<IEventStore>();
        for (var b = 0; b < batches.Length; b++)
        {
            await store.AppendAsync($"{prefix}-{b}", ExpectedVersion.NoStream, batches[b], EventMetadata.Empty, cancellationToken).ConfigureAwait(false);
        }
    }
}
