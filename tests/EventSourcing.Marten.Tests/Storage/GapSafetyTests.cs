using System.Diagnostics;
using EventSourcing.Events;
using EventSourcing.Marten.Storage;
using EventSourcing.Marten.Tests.Hosting;
using EventSourcing.Storage;
using EventSourcing.Tests.Shared.Postgres;
using EventSourcing.Testing.Contracts.Storage;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace EventSourcing.Marten.Tests.Storage;

/// <summary>
/// Followers of the log never skip a committed event: not when an append holds its sequence number for longer than
/// the stale-gap threshold, however it holds it (a transaction that has only called <c>nextval</c>, an append stalled
/// in an inline projection), and no append that fails may leave a number behind for followers to wait out. The
/// threshold is set to 1 s, and every hold lasts well past twice that, while later appends commit around it.
/// </summary>
public sealed partial class GapSafetyTests(PostgresFixture postgres)
{
    private static readonly TimeSpan Threshold = TimeSpan.FromSeconds(1);

    /// <summary>How long a hold lasts at least, counted from the first later commit.</summary>
    private static readonly TimeSpan HoldAtLeast = Threshold * 2.5;

    /// <summary>How long a hold lasts at most, waiting for a follower to pass the held position.</summary>
    private static readonly TimeSpan LongestHold = Threshold * 8;

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_sequence_number_held_past_twice_the_stale_gap_threshold_is_delivered_once_and_in_order_by_every_follower_and_reader()
    {
        await using var nodes = await MartenNodes.StartAsync(await postgres.CreateDatabaseAsync("held_nextval", Ct), es => ContractEvents.Registry(es.Events), FastGaps);
        await nodes.A.Store.AppendAsync("before", ExpectedVersion.NoStream, [ContractEvents.Thing(0)], EventMetadata.Empty, Ct);
        await using var followerA = LogFollower.Start("live follower on node A (the writer)", nodes.A.Store, 0, Ct);
        await using var followerB = LogFollower.Start("live follower on node B", nodes.B.Store, 0, Ct);
        Assert.True(await followerA.WaitForPositionAsync(1, Patience) && await followerB.WaitForPositionAsync(1, Patience), "the followers did not start");

        // An append that has taken its number and not written yet: a transaction that has only called nextval.
        await using var holder = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(nodes.ConnectionString) { ApplicationName = "holder" }.ConnectionString);
        await holder.OpenAsync(Ct);
        await using var transaction = await holder.BeginTransactionAsync(Ct);
        var schema = nodes.A.EventSchema;
        var held = await ScalarAsync<long>(holder, $"select nextval('{schema}.mt_events_sequence')");

        var hold = await HoldWhileOthersAppendAsync(nodes, held, followerB);
        Assert.True(await ScalarAsync<object>(holder, "select backend_xid from pg_stat_activity where pid = pg_backend_pid()") is DBNull, "the holder has a transaction id");
        await InsertEventAsync(holder, schema, held, "held", new ThingHappened("held", 1_000));
        await transaction.CommitAsync(Ct);

        var last = await nodes.A.Store.AppendAsync("after", ExpectedVersion.NoStream, [ContractEvents.Thing(99)], EventMetadata.Empty, Ct);
        var audits = await AuditReadersAsync(nodes, last.Position, hold, followerA, followerB);
        var written = Assert.Single(await nodes.B.Store.ReadStreamAsync("held", 1, Ct).ToListAsync(Ct)); // a valid event, as the store reads it
        Assert.Equal((held, new ThingHappened("held", 1_000)), (written.Position, written.Data));

        Assert.True(
            audits.All(a => a.Clean),
            $"Position {held} was {hold} by a transaction that had only called nextval, then committed; log 1..{last.Position}. {string.Join("; ", audits)}");
    }

    private static void FastGaps(IServiceCollection services) => services.Configure<MartenStoreOptions>(options =>
    {
        options.StaleGapThreshold = Threshold;
        options.SubscriptionFallbackInterval = TimeSpan.FromMilliseconds(200);
    });

    /// <summary>
    /// While position <paramref name="held"/> is held elsewhere: appends five events to other streams through node A, then
    /// waits at least <see cref="HoldAtLeast"/> from the first of them, and until node B's <paramref name="follower"/> has delivered
    /// a later position (it never should), at most <see cref="LongestHold"/>; then reads the whole log once on node B, as a
    /// checkpointed reader (a projection runner catching up) would before it saves its checkpoint.
    /// </summary>
    private static async Task<Hold> HoldWhileOthersAppendAsync(MartenNodes nodes, long held, LogFollower follower)
    {
        var clock = Stopwatch.StartNew();
        for (var i = 1; i <= 5; i++)
        {
            var later = await nodes.A.Store.AppendAsync($"later-{i}", ExpectedVersion.NoStream, [ContractEvents.Thing(i)], EventMetadata.Empty, Ct);
            Assert.True(later.Position > held, $"a later append got position {later.Position}, not after {held}");
        }

        var passed = await follower.WaitUntilAsync(positions => positions.Any(p => p > held), LongestHold - clock.Elapsed);
        var remaining = HoldAtLeast - clock.Elapsed;
        if (remaining > TimeSpan.Zero)
        {
            await Task.Delay(remaining, Ct);
        }

        var readWhileHeld = await nodes.B.Store.ReadAllAsync(0, Ct).Select(e => e.Position).ToListAsync(Ct);
        return new Hold(clock.Elapsed, passed, readWhileHeld);
    }

    /// <summary>How a hold went: how long it lasted, whether node B's follower passed the held position, what a read of the whole log on node B returned meanwhile.</summary>
    private sealed record Hold(TimeSpan Lasted, bool FollowerPassed, List<long> ReadWhileHeld)
    {
        public override string ToString() =>
            $"held {Lasted.TotalSeconds:0.0} s (stale-gap threshold {Threshold.TotalSeconds:0.#} s; node B's follower " +
            $"{(FollowerPassed ? "passed it meanwhile" : "waited")}; a read of the whole log meanwhile ended at {(ReadWhileHeld.Count == 0 ? 0 : ReadWhileHeld[^1])})";
    }

    /// <summary>
    /// Stops the live followers once they have delivered <paramref name="last"/>; on node B, resumes the read made during
    /// the hold from its checkpoint (the last position it returned), reads the whole log afresh and follows it afresh from
    /// 0; and audits each of them against the positions committed in the database.
    /// </summary>
    private static async Task<List<DeliveryAudit>> AuditReadersAsync(MartenNodes nodes, long last, Hold hold, params LogFollower[] followers)
    {
        foreach (var follower in followers)
        {
            await follower.WaitForPositionAsync(last, Patience);
        }

        var delivered = new List<(string Reader, IReadOnlyList<long> Positions)>();
        foreach (var follower in followers)
        {
            delivered.Add((follower.Name, await follower.StopAsync()));
        }

        var checkpoint = hold.ReadWhileHeld.Count == 0 ? 0 : hold.ReadWhileHeld[^1];
        var resumed = await nodes.B.Store.ReadAllAsync(checkpoint + 1, Ct).Select(e => e.Position).ToListAsync(Ct);
        delivered.Add(($"ReadAllAsync on node B during the hold, resumed after {checkpoint}", [.. hold.ReadWhileHeld, .. resumed]));
        delivered.Add(("ReadAllAsync(0) on node B afterwards", await nodes.B.Store.ReadAllAsync(0, Ct).Select(e => e.Position).ToListAsync(Ct)));
        await using (var late = LogFollower.Start("subscriber from 0 on node B, started afterwards", nodes.B.Store, 0, Ct))
        {
            await late.WaitForPositionAsync(last, Patience);
            delivered.Add((late.Name, await late.StopAsync()));
        }

        var committed = await CommittedPositionsAsync(nodes, last);
        return [.. delivered.Select(d => DeliveryAudit.Of(d.Reader, committed, d.Positions.Where(p => p <= last).ToList()))];
    }

    /// <summary>The positions of every event committed up to <paramref name="last"/> (Marten's tombstones excepted: no reader returns them).</summary>
    private static async Task<List<long>> CommittedPositionsAsync(MartenNodes nodes, long last)
    {
        await using var connection = new NpgsqlConnection(nodes.ConnectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand($"select seq_id from {nodes.A.EventSchema}.mt_events where stream_id <> 'mt_tombstone' and seq_id <= @last order by seq_id", connection);
        command.Parameters.AddWithValue("last", last);
        var positions = new List<long>();
        await using var reader = await command.ExecuteReaderAsync(Ct);
        while (await reader.ReadAsync(Ct))
        {
            positions.Add(reader.GetInt64(0));
        }

        return positions;
    }

    /// <summary>Writes a new stream with one event at <paramref name="position"/>, as Marten's append function writes them, and notifies as an append does.</summary>
    private static async Task InsertEventAsync(NpgsqlConnection connection, string schema, long position, string streamId, ThingHappened @event)
    {
        await using var command = new NpgsqlCommand(
            $"""
            insert into {schema}.mt_streams (id, type, version, timestamp, tenant_id) values (@stream, null, 1, now(), '*DEFAULT*');
            insert into {schema}.mt_events (seq_id, id, stream_id, version, data, type, tenant_id, timestamp, mt_dotnet_type, is_archived)
            values (@seq, @id, @stream, 1, @data::jsonb, 'thing-happened.v1', '*DEFAULT*', now(), @dotnet, false);
            select pg_notify('mt_events_appended', '');
            """,
            connection);
        command.Parameters.AddWithValue("stream", streamId);
        command.Parameters.AddWithValue("seq", position);
        command.Parameters.AddWithValue("id", Guid.NewGuid());
        command.Parameters.AddWithValue("data", $$"""{"name": "{{@event.Name}}", "number": {{@event.Number}}}""");
        command.Parameters.AddWithValue("dotnet", $"{typeof(ThingHappened).FullName}, {typeof(ThingHappened).Assembly.GetName().Name}");
        await command.ExecuteNonQueryAsync(Ct);
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync(Ct))!;
    }

    private static void Report(string line) => TestContext.Current.TestOutputHelper?.WriteLine(line);
}
