using EventSourcing.Erasure;
using System.Diagnostics;
using EventSourcing.Events;
using EventSourcing.Marten.Tests.Hosting;
using EventSourcing.Privacy;
using EventSourcing.Projections;
using EventSourcing.Storage;
using EventSourcing.Testing.Contracts.Privacy;
using EventSourcing.Testing.Contracts.Storage;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace EventSourcing.Marten.Tests.Storage;

public sealed partial class GapSafetyTests
{
    [Fact]
    public async Task An_append_refused_because_its_subject_was_forgotten_takes_no_sequence_number()
    {
        await using var nodes = await MartenNodes.StartAsync(
            await postgres.CreateDatabaseAsync("refused_append", Ct),
            es =>
            {
                GuestDecider.Register(es.Events);
                es.AddProjection(new GuestCardProjection(), ProjectionLifecycle.Inline); // rich appends
            },
            FastGaps);
        var guest = Guid.NewGuid();
        var stream = GuestDecider.StreamOf(guest);
        await nodes.A.Store.AppendAsync(stream, ExpectedVersion.NoStream, [new GuestRegistered(guest, "Ada", "ada@example.com", ["+44 1"], null, 2)], EventMetadata.Empty, Ct);
        await nodes.A.Services.GetRequiredService<PersonalDataEraser>().ForgetAsync(guest.ToString(), Ct);
        await using var follower = LogFollower.Start("live follower on node B", nodes.B.Store, 0, Ct);
        var (lastBefore, burnedBefore, _) = await SequenceUseAsync(nodes);

        await Assert.ThrowsAsync<SubjectForgottenException>(() => nodes.A.Store.AppendAsync(stream, ExpectedVersion.Any, [new GuestRenamed(guest, "Ada Again")], EventMetadata.Empty, Ct));
        var (lastAfter, _, _) = await SequenceUseAsync(nodes);
        var probe = await nodes.A.Store.AppendAsync("probe", ExpectedVersion.NoStream, [new GuestVisited(guest, new DateOnly(2030, 1, 1))], EventMetadata.Empty, Ct);
        var (_, burnedAfter, tombstones) = await SequenceUseAsync(nodes);
        var clock = Stopwatch.StartNew();
        var followed = await follower.WaitForPositionAsync(probe.Position, Patience);
        Report($"node B's follower delivered the probe at {probe.Position} {clock.Elapsed.TotalSeconds:0.00} s after it was appended ({(followed ? "delivered" : "not delivered")}); tombstones {tombstones}");

        Assert.True(
            (lastAfter, burnedAfter, probe.Position) == (lastBefore, burnedBefore, lastBefore + 1),
            $"The refused append took {lastAfter - lastBefore} sequence number(s): last_value {lastBefore} before, {lastAfter} after; " +
            $"the next append got position {probe.Position} (expected {lastBefore + 1}); numbers burned (max(seq_id) - count(*), tombstones included) " +
            $"{burnedBefore} before, {burnedAfter} after; {tombstones} tombstone row(s).");
    }

    /// <summary>The sequence's <c>last_value</c>, the numbers burned (<c>max(seq_id) - count(*)</c> over every row, Marten's tombstones included) and the tombstone rows.</summary>
    private static async Task<(long LastValue, long Burned, long Tombstones)> SequenceUseAsync(MartenNodes nodes)
    {
        await using var connection = new NpgsqlConnection(nodes.ConnectionString);
        await connection.OpenAsync(Ct);
        var schema = nodes.A.EventSchema;
        await using var command = new NpgsqlCommand(
            $"""
            select (select last_value from {schema}.mt_events_sequence),
                   coalesce(max(seq_id), 0) - count(*),
                   count(*) filter (where stream_id = 'mt_tombstone')
            from {schema}.mt_events
            """,
            connection);
        await using var reader = await command.ExecuteReaderAsync(Ct);
        await reader.ReadAsync(Ct);
        return (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
    }
}
