using System.Diagnostics;
using EventSourcing.Events;
using EventSourcing.Marten.Tests.Hosting;
using EventSourcing.Storage;
using EventSourcing.Testing.Contracts.Storage;
using Npgsql;

namespace EventSourcing.Marten.Tests.Storage;

public sealed partial class GapSafetyTests
{
    /// <summary>How soon a hole no transaction can fill must be passed: the threshold, then a look or two.</summary>
    private static readonly TimeSpan PassedWithin = Threshold + TimeSpan.FromSeconds(3);

    [Fact]
    public async Task Holes_no_transaction_can_fill_are_passed_promptly_while_unrelated_transactions_stay_open()
    {
        await using var nodes = await MartenNodes.StartAsync(await postgres.CreateDatabaseAsync("dead_holes", Ct), es => ContractEvents.Registry(es.Events), FastGaps);
        var schema = nodes.A.EventSchema;
        await nodes.A.Store.AppendAsync("before", ExpectedVersion.NoStream, [ContractEvents.Thing(0)], EventMetadata.Empty, Ct);
        await using var follower = LogFollower.Start("live follower on node B", nodes.B.Store, 0, Ct);
        Assert.True(await follower.WaitForPositionAsync(1, Patience), "the follower did not start");

        // Open for the whole test, begun before every hole: a writer with a transaction id (it holds back the oldest
        // snapshot, xmin), and a session idle in transaction holding an advisory lock (as a daemon's leader does).
        await using var writer = await OpenAsync(nodes, "unrelated-writer");
        await using var writing = await writer.BeginTransactionAsync(Ct);
        await ExecuteAsync(writer, "create temporary table scratch (n int); insert into scratch values (1)");
        await using var idle = await OpenAsync(nodes, "idle-lock-holder");
        await using var idling = await idle.BeginTransactionAsync(Ct);
        await ExecuteAsync(idle, "select pg_advisory_xact_lock(4242)");

        // Holes: numbers taken and rolled back, one at a time and several in one transaction, each followed by an append.
        var burned = new List<long>();
        long last = 0;
        var clock = Stopwatch.StartNew();
        foreach (var count in new[] { 1, 3, 1 })
        {
            await using (var burner = await OpenAsync(nodes, "burner"))
            {
                await using var burning = await burner.BeginTransactionAsync(Ct);
                for (var i = 0; i < count; i++)
                {
                    burned.Add(await ScalarAsync<long>(burner, $"select nextval('{schema}.mt_events_sequence')"));
                }

                await burning.RollbackAsync(Ct);
            }

            last = (await nodes.A.Store.AppendAsync($"after-hole-{burned[^1]}", ExpectedVersion.NoStream, [ContractEvents.Thing(burned.Count)], EventMetadata.Empty, Ct)).Position;
        }

        var passed = await follower.WaitForPositionAsync(last, PassedWithin + TimeSpan.FromSeconds(burned.Count));
        var took = clock.Elapsed;
        var head = await nodes.B.Store.ReadHeadPositionAsync(Ct);
        var delivered = await follower.StopAsync();
        var audit = DeliveryAudit.Of("live follower on node B", await CommittedPositionsAsync(nodes, last), delivered.Where(p => p <= last).ToList());
        Report($"holes at {string.Join(", ", burned)}; the follower delivered position {last} after {took.TotalSeconds:0.00} s (threshold {Threshold.TotalSeconds:0.#} s); head on node B {head}; {audit}");

        Assert.True(passed, $"The follower did not pass holes {string.Join(", ", burned)} left by rolled-back transactions within {PassedWithin.TotalSeconds:0} s while unrelated transactions stayed open: {audit}");
        Assert.True(audit.Clean, audit.ToString());
        Assert.Equal(last, head);
        await writing.RollbackAsync(Ct);
        await idling.RollbackAsync(Ct);
    }

    private static async Task<NpgsqlConnection> OpenAsync(MartenNodes nodes, string applicationName)
    {
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(nodes.ConnectionString) { ApplicationName = applicationName }.ConnectionString);
        await connection.OpenAsync(Ct);
        return connection;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(Ct);
    }
}
