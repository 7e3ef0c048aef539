using EventSourcing.Events;
using EventSourcing.Marten.Tests.Hosting;
using EventSourcing.Projections;
using EventSourcing.Storage;
using EventSourcing.Testing.Contracts.Storage;
using Npgsql;

namespace EventSourcing.Marten.Tests.Storage;

public sealed partial class GapSafetyTests
{
    [Fact]
    public async Task An_append_stalled_in_an_inline_projection_past_twice_the_stale_gap_threshold_is_delivered_once_and_in_order_by_every_follower()
    {
        using var gate = new ProjectionGate("stalled");
        await using var nodes = await MartenNodes.StartAsync(
            await postgres.CreateDatabaseAsync("stalled_append", Ct),
            es =>
            {
                ContractEvents.Registry(es.Events);
                es.AddProjection(new GatedProjection(gate), ProjectionLifecycle.Inline);
            },
            FastGaps);
        await nodes.A.Store.AppendAsync("before", ExpectedVersion.NoStream, [ContractEvents.Thing(0)], EventMetadata.Empty, Ct);
        await using var followerA = LogFollower.Start("live follower on node A (the writer)", nodes.A.Store, 0, Ct);
        await using var followerB = LogFollower.Start("live follower on node B", nodes.B.Store, 0, Ct);
        Assert.True(await followerA.WaitForPositionAsync(1, Patience) && await followerB.WaitForPositionAsync(1, Patience), "the followers did not start");

        // Inline projections make Marten append in rich mode: the stalled append has its number before the projection runs.
        var stalled = Task.Run(() => nodes.A.Store.AppendAsync(gate.StreamId, ExpectedVersion.NoStream, [ContractEvents.Thing(1_000)], EventMetadata.Empty, Ct), Ct);
        await gate.Entered.WaitAsync(Patience, Ct);
        var held = await SequenceLastValueAsync(nodes);
        Report($"node A stalled in the inline projection, sequence last_value {held}:");
        (await nodes.A.DescribeBackendsAsync(Ct)).ToList().ForEach(Report);

        var hold = await HoldWhileOthersAppendAsync(nodes, held, followerB);
        Report("after the later appends, still stalled:");
        (await nodes.A.DescribeBackendsAsync(Ct)).ToList().ForEach(Report);
        gate.Release();
        var appended = await stalled;
        Assert.Equal(held, appended.Position);

        var last = await nodes.A.Store.AppendAsync("after", ExpectedVersion.NoStream, [ContractEvents.Thing(99)], EventMetadata.Empty, Ct);
        var audits = await AuditReadersAsync(nodes, last.Position, hold, followerA, followerB);

        Assert.True(
            audits.All(a => a.Clean),
            $"Position {held} was {hold} by an append stalled in its inline projection, then committed; log 1..{last.Position}. {string.Join("; ", audits)}");
    }

    private static async Task<long> SequenceLastValueAsync(MartenNodes nodes)
    {
        await using var connection = new NpgsqlConnection(nodes.ConnectionString);
        await connection.OpenAsync(Ct);
        return await ScalarAsync<long>(connection, $"select last_value from {nodes.A.EventSchema}.mt_events_sequence");
    }

    /// <summary>Where an inline projection stops the append of one stream until the test releases it (a GC pause or a lock wait looks the same).</summary>
    private sealed class ProjectionGate(string streamId) : IDisposable
    {
        private readonly ManualResetEventSlim _released = new();
        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string StreamId { get; } = streamId;

        public Task Entered => _entered.Task;

        public void Block()
        {
            _entered.TrySetResult();
            if (!_released.Wait(TimeSpan.FromSeconds(30)))
            {
                throw new TimeoutException("The projection gate was never released.");
            }
        }

        public void Release() => _released.Set();

        public void Dispose()
        {
            _released.Set();
            _released.Dispose();
        }
    }

    private sealed record GatedView(string Id, int Events);

    /// <summary>Counts events per stream; blocks on the gate for the gate's stream.</summary>
    private sealed class GatedProjection(ProjectionGate gate) : Projection<GatedView>
    {
        public override string Name => "gated";

        public override IEnumerable<string> ViewIds(EventEnvelope envelope) => [envelope.StreamId];

        public override GatedView? Evolve(string id, GatedView? view, EventEnvelope envelope)
        {
            if (envelope.StreamId == gate.StreamId)
            {
                gate.Block();
            }

            return new GatedView(id, (view?.Events ?? 0) + 1);
        }
    }
}
