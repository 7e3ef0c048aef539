using System.Text.Json;
using EventSourcing.Benchmarks.Domain;
using EventSourcing.Benchmarks.Harness;
using EventSourcing.Events;
using EventSourcing.Storage;
using Marten;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using NpgsqlTypes;

namespace EventSourcing.Benchmarks.Scenarios;

/// <summary>
/// Batched append, 1,000 events per transaction, one writer: EventSourcing's store against Marten's own append of the
/// same events into the same schema, and a binary COPY into a table like <c>mt_events</c> (the practical limit).
/// </summary>
public static class AppendScenario
{
    public const string Name = "append";
    private const int BatchSize = 1_000;

    public static async Task<ScenarioReport> RunAsync(BenchmarkContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var batches = context.Size(50, 3);
        var rounds = context.Size(5, 2);
        var report = new ScenarioReport(Name, context.Quick) { Machine = await context.DescribeAsync(withPostgres: true, cancellationToken).ConfigureAwait(false) };
        var connectionString = await context.CreateDatabaseAsync("bench_append", cancellationToken).ConfigureAwait(false);
        var services = Apps.Build(connectionString);
        await using var disposeServices = services.ConfigureAwait(false);
        await Apps.PrepareAsync(services, cancellationToken).ConfigureAwait(false);
        var store = services.GetRequiredService<IEventStore>();
        var marten = services.GetRequiredService<IDocumentStore>();
        var copy = new CopyTarget(marten, connectionString);
        await copy.CreateAsync(cancellationToken).ConfigureAwait(false);

        var events = Enumerable.Range(0, batches).Select(b => Enumerable.Range(0, BatchSize).Select(i => Ledger.Event(((long)b * BatchSize) + i, personal: false)).ToArray()).ToArray();
        var perRound = (long)batches * BatchSize;
        context.Log($"{rounds} rounds of {perRound:N0} events ({BatchSize:N0} per transaction) per variant");
        var medians = await Rounds.InterleaveAsync(
            rounds,
            [
                ("eventsourcing", async (round, token) =>
                {
                    for (var b = 0; b < batches; b++)
                    {
                        await store.AppendAsync($"es-{round}-{b}", ExpectedVersion.NoStream, events[b], EventMetadata.Empty, token).ConfigureAwait(false);
                    }
                }),
                ("raw marten", async (round, token) =>
                {
                    for (var b = 0; b < batches; b++)
                    {
                        var session = marten.LightweightSession();
                        await using (session.ConfigureAwait(false))
                        {
                            session.Events.StartStream($"marten-{round}-{b}", events[b]);
                            await session.SaveChangesAsync(token).ConfigureAwait(false);
                        }
                    }
                }),
                ("npgsql binary copy", async (round, token) =>
                {
                    for (var b = 0; b < batches; b++)
                    {
                        await copy.WriteAsync($"copy-{round}-{b}", events[b], token).ConfigureAwait(false);
                    }
                }),
            ],
            context.Log,
            cancellationToken).ConfigureAwait(false);

        double Rate(string variant) => perRound / medians[variant].Median.TotalSeconds;
        var ours = Rate("eventsourcing");
        var martenRate = Rate("raw marten");
        var copyRate = Rate("npgsql binary copy");
        var timeRatio = medians["eventsourcing"].Median / medians["raw marten"].Median;
        var copyRatio = ours / copyRate;
        report.Add(new ResultRow("eventsourcing", perRound, ours, "events/s", timeRatio, "time of raw marten"));
        report.Add(new ResultRow("raw marten", perRound, martenRate, "events/s"));
        report.Add(new ResultRow("npgsql binary copy", perRound, copyRate, "events/s"));
        report.Add(new ResultRow("eventsourcing", perRound, copyRatio, "rate / copy rate"));
        foreach (var (variant, timing) in medians)
        {
            var (process, machine) = timing.CpuPerOperation(perRound);
            report.Add(new ResultRow($"{variant}: CPU per 1,000 events, this process", perRound, process * 1_000, "ms"));
            report.Add(new ResultRow($"{variant}: CPU per 1,000 events, whole machine", perRound, machine * 1_000, "ms"));
        }

        report.Check(">= 50,000 events/s", $"{ours:N0} events/s", ours >= 50_000);
        report.Check("<= 1.10x raw Marten time", $"{timeRatio:0.00}x", timeRatio <= 1.10);
        report.Check(">= 0.5x binary COPY rate", $"{copyRatio:0.00}x", copyRatio >= 0.5);
        report.Notes.Add($"median of {rounds} interleaved rounds; one writer; {BatchSize:N0} events per transaction; each batch starts a new stream");
        return report;
    }

    /// <summary>A table like Marten's <c>mt_events</c> (same columns, defaults and indexes) filled with binary COPY.</summary>
    private sealed class CopyTarget(IDocumentStore marten, string connectionString)
    {
        private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
        private readonly string _table = $"{marten.Options.Events.DatabaseSchemaName}.bench_copy_events";

        public async Task CreateAsync(CancellationToken cancellationToken)
        {
            var connection = new NpgsqlConnection(connectionString);
            await using (connection.ConfigureAwait(false))
            {
                await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
                var events = $"{marten.Options.Events.DatabaseSchemaName}.mt_events";
                var command = new NpgsqlCommand($"drop table if exists {_table}; drop sequence if exists {_table}_seq; create table {_table} (like {events} including defaults including indexes including constraints); " +
                    $"create sequence {_table}_seq; alter table {_table} alter column seq_id set default nextval('{_table}_seq')", connection);
                await using (command.ConfigureAwait(false))
                {
                    await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }
            }
        }

        public async Task WriteAsync(string streamId, object[] events, CancellationToken cancellationToken)
        {
            var connection = new NpgsqlConnection(connectionString);
            await using (connection.ConfigureAwait(false))
            {
                await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
                var writer = await connection.BeginBinaryImportAsync(
                    $"copy {_table} (id, stream_id, version, data, type, timestamp, tenant_id, mt_dotnet_type) from stdin (format binary)",
                    cancellationToken).ConfigureAwait(false);
                await using (writer.ConfigureAwait(false))
                {
                    var now = DateTimeOffset.UtcNow;
                    for (var i = 0; i < events.Length; i++)
                    {
                        await writer.StartRowAsync(cancellationToken).ConfigureAwait(false);
                        await writer.WriteAsync(Guid.CreateVersion7(), NpgsqlDbType.Uuid, cancellationToken).ConfigureAwait(false);
                        await writer.WriteAsync(streamId, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                        await writer.WriteAsync(i + 1L, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
                        await writer.WriteAsync(JsonSerializer.Serialize(events[i], events[i].GetType(), Json), NpgsqlDbType.Jsonb, cancellationToken).ConfigureAwait(false);
                        await writer.WriteAsync("seats_held", NpgsqlDbType.Varchar, cancellationToken).ConfigureAwait(false);
                        await writer.WriteAsync(now, NpgsqlDbType.TimestampTz, cancellationToken).ConfigureAwait(false);
                        await writer.WriteAsync("*DEFAULT*", NpgsqlDbType.Varchar, cancellationToken).ConfigureAwait(false);
                        await writer.WriteAsync(events[i].GetType().FullName!, NpgsqlDbType.Varchar, cancellationToken).ConfigureAwait(false);
                    }

                    await writer.CompleteAsync(cancellationToken).ConfigureAwait(false);
                }
            }
        }
    }
}
