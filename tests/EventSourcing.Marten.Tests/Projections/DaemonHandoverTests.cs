using System.Collections.Concurrent;
using EventSourcing.Events;
using EventSourcing.Marten.Tests.Hosting;
using EventSourcing.Projections;
using EventSourcing.Storage;
using EventSourcing.Tests.Shared.Postgres;
using EventSourcing.Testing.Contracts.Storage;
using Npgsql;

namespace EventSourcing.Marten.Tests.Projections;

/// <summary>
/// Async projections on two nodes: the node leading Marten's daemon stalls with a batch in hand, loses the lead, and
/// commits that batch after the other has started the projection. The new leader's next batch finds the progression
/// moved; the projection must go on on the new leader, each event applied once.
/// </summary>
public sealed class DaemonHandoverTests(PostgresFixture postgres)
{
    private const string Stalling = "stalling";

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_stalled_leader_committing_its_batch_after_the_handover_does_not_stop_the_projection_on_the_new_leader()
    {
        var gates = new[] { new Gate(), new Gate() };
        var applied = new ConcurrentQueue<(int Node, long Position)>();
        var configured = 0;
        await using var nodes = await MartenNodes.StartAsync(
            await postgres.CreateDatabaseAsync("daemon_handover", Ct),
            es =>
            {
                var node = configured++;
                ContractEvents.Registry(es.Events);
                es.AddProjection(new PositionsProjection(node, gates[node], applied)); // async: on Marten's daemon
            },
            startHostedServices: true);
        var first = await nodes.A.Store.AppendAsync("before", ExpectedVersion.NoStream, [ContractEvents.Thing(0)], EventMetadata.Empty, Ct);
        await nodes.A.Host.WaitForAsync(first.Position, PositionsProjection.ProjectionName);
        var leader = applied.First(a => a.Position == first.Position).Node;
        var (stalled, other) = (nodes.All[leader], nodes.All[1 - leader]);

        // The leader stalls in the middle of its batch; its lock's session is ended, so the other takes the lead, starts
        // the projection from the committed progression and stalls on the same event.
        var second = await nodes.A.Store.AppendAsync(Stalling, ExpectedVersion.NoStream, [ContractEvents.Thing(1)], EventMetadata.Empty, Ct);
        await gates[leader].Entered.WaitAsync(Patience, Ct);
        Assert.True(await EndAdvisoryLockSessionsAsync(nodes.ConnectionString, stalled.ApplicationName) > 0, "the stalled leader held no advisory lock");
        await gates[1 - leader].Entered.WaitAsync(Patience, Ct);

        // The stalled one runs again and commits its batch; then it is gone for good, and the new leader goes on.
        gates[leader].Release();
        await other.Host.WaitForAsync(second.Position, PositionsProjection.ProjectionName);
        await stalled.Host.DisposeAsync();
        gates[1 - leader].Release();

        var third = await other.Store.AppendAsync("after", ExpectedVersion.NoStream, [ContractEvents.Thing(2)], EventMetadata.Empty, Ct);
        var reached = await other.Host.Views.WaitForPositionAsync(PositionsProjection.ProjectionName, third.Position, Patience, Ct);
        var view = await other.Host.Views.FindAsync<Positions>(PositionsProjection.ViewId, Ct);

        Assert.True(reached, $"the projection stood still on the new leader at {string.Join(", ", view?.Seen ?? [])}; the log's head is {third.Position}");
        Assert.Equal([first.Position, second.Position, third.Position], view!.Seen); // each once, in order
        Assert.Contains(applied, a => a.Node == 1 - leader && a.Position == third.Position);
    }

    /// <summary>Ends the sessions of <paramref name="applicationName"/> that hold an advisory lock; how many it ended.</summary>
    private static async Task<int> EndAdvisoryLockSessionsAsync(string connectionString, string applicationName)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(
            "select count(*) from (select distinct pg_terminate_backend(a.pid) from pg_locks l join pg_stat_activity a on a.pid = l.pid " +
            "where l.locktype = 'advisory' and l.granted and a.application_name = @name and a.datname = current_database()) ended",
            connection);
        command.Parameters.AddWithValue("name", applicationName);
        return Convert.ToInt32(await command.ExecuteScalarAsync(Ct), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Blocks the projection of one node on the stalling stream's event, once, until released.</summary>
    private sealed class Gate
    {
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Entered => _entered.Task;

        public void Block()
        {
            _entered.TrySetResult();
            if (!_released.Task.Wait(Patience, Ct)) // the daemon applies a batch synchronously: the stall is a blocked thread
            {
                throw new TimeoutException("The projection gate was never released.");
            }
        }

        public void Release() => _released.TrySetResult();
    }

    private sealed record Positions(string Id, IReadOnlyList<long> Seen);

    /// <summary>Every position it is given, in one view; the node's gate blocks it on the stalling stream's event.</summary>
    private sealed class PositionsProjection(int node, Gate gate, ConcurrentQueue<(int Node, long Position)> applied) : Projection<Positions>
    {
        public const string ProjectionName = "positions";

        public const string ViewId = "all";

        public override string Name => ProjectionName;

        public override IEnumerable<string> ViewIds(EventEnvelope envelope) => [ViewId];

        public override Positions? Evolve(string id, Positions? view, EventEnvelope envelope)
        {
            if (envelope.StreamId == Stalling)
            {
                gate.Block();
            }

            applied.Enqueue((node, envelope.Position));
            return new Positions(id, [.. view?.Seen ?? [], envelope.Position]);
        }
    }
}
