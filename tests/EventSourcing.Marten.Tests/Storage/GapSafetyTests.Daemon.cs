using System.Collections.Concurrent;
using EventSourcing.Events;
using EventSourcing.Marten.Tests.Hosting;
using EventSourcing.Projections;
using EventSourcing.Reactors;
using EventSourcing.Storage;
using EventSourcing.Testing.Contracts.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace EventSourcing.Marten.Tests.Storage;

public sealed partial class GapSafetyTests
{
    [Fact]
    public async Task An_append_stalled_past_twice_the_threshold_is_projected_once_on_the_daemon_and_reacted_to_once_by_the_reactor()
    {
        using var gate = new ProjectionGate("stalled");
        using var reactions = new Reactions();
        await using var nodes = await MartenNodes.StartAsync(
            await postgres.CreateDatabaseAsync("stalled_daemon", Ct),
            es =>
            {
                ContractEvents.Registry(es.Events);
                es.AddProjection(new GatedProjection(gate), ProjectionLifecycle.Inline);
                es.AddProjection(new SeenPositionsProjection()); // async: on Marten's daemon (one node runs it)
                es.AddReactor<RecordingReactor>();
            },
            services =>
            {
                FastGaps(services);
                services.AddSingleton(reactions);
            },
            startHostedServices: true);
        var first = await nodes.A.Store.AppendAsync("before", ExpectedVersion.NoStream, [ContractEvents.Thing(0)], EventMetadata.Empty, Ct);
        await nodes.A.Host.WaitForAsync(first.Position, SeenPositionsProjection.ProjectionName);

        var stalled = Task.Run(() => nodes.A.Store.AppendAsync(gate.StreamId, ExpectedVersion.NoStream, [ContractEvents.Thing(1_000)], EventMetadata.Empty, Ct), Ct);
        await gate.Entered.WaitAsync(Patience, Ct);
        var held = await SequenceLastValueAsync(nodes);
        await using (var watcher = LogFollower.Start("live follower on node B", nodes.B.Store, 0, Ct))
        {
            await HoldWhileOthersAppendAsync(nodes, held, watcher);
        }

        gate.Release();
        Assert.Equal(held, (await stalled).Position);
        var last = await nodes.A.Store.AppendAsync("after", ExpectedVersion.NoStream, [ContractEvents.Thing(99)], EventMetadata.Empty, Ct);
        await nodes.B.Host.WaitForAsync(last.Position, SeenPositionsProjection.ProjectionName);
        var seen = (await nodes.B.Host.Views.FindAsync<SeenPositions>(SeenPositionsProjection.ViewId, Ct))!.Positions;
        var committed = await CommittedPositionsAsync(nodes, last.Position);
        var projected = DeliveryAudit.Of("async projection on Marten's daemon", committed, seen);
        await reactions.WaitForAsync(committed.Count, Patience);
        var reacted = DeliveryAudit.Of("the reactor, on whichever node runs it", committed, [.. reactions.All]);
        var nodesReacting = reactions.Nodes.ToList();
        Report($"held position {held}; {projected}; {reacted} (reacted on {string.Join(", ", nodesReacting)})");

        Assert.True(projected.Clean && reacted.Clean, $"Position {held} was held by a stalled append. {projected}; {reacted}");
        Assert.Single(nodesReacting); // one node runs the reactor
    }

    /// <summary>What the reactors were given, by node; waiters wake on each one.</summary>
    private sealed class Reactions : IDisposable
    {
        private readonly ConcurrentQueue<(string Node, long Position)> _all = new();
        private readonly SemaphoreSlim _each = new(0);

        public void Add(string node, long position)
        {
            _all.Enqueue((node, position));
            _each.Release();
        }

        public void Dispose() => _each.Dispose();

        public IEnumerable<long> All => _all.Select(r => r.Position);

        public IEnumerable<string> Nodes => _all.Select(r => r.Node).Distinct();

        public async Task WaitForAsync(int count, TimeSpan timeout)
        {
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            limit.CancelAfter(timeout);
            try
            {
                for (var i = 0; i < count; i++)
                {
                    await _each.WaitAsync(limit.Token);
                }
            }
            catch (OperationCanceledException) when (!Ct.IsCancellationRequested)
            {
                // fewer than expected: the audit says which
            }
        }
    }

    /// <summary>Every position the projection has applied, in the order applied.</summary>
    private sealed record SeenPositions(string Id, List<long> Positions);

    private sealed class SeenPositionsProjection : Projection<SeenPositions>
    {
        public const string ProjectionName = "seen-positions";

        public const string ViewId = "all";

        public override string Name => ProjectionName;

        public override IEnumerable<string> ViewIds(EventEnvelope envelope) => [ViewId];

        public override SeenPositions? Evolve(string id, SeenPositions? view, EventEnvelope envelope) =>
            new(id, [.. view?.Positions ?? [], envelope.Position]);
    }

    /// <summary>Records each event it is given, with the node it runs on.</summary>
    private sealed class RecordingReactor(Reactions reactions, IServiceProvider services) : Reactor
    {
        private readonly string _node = MartenNodes.ApplicationNameOf(services);

        public override string Name => "recording";

        public override Task ReactAsync(EventEnvelope envelope, CancellationToken cancellationToken)
        {
            reactions.Add(_node, envelope.Position);
            return Task.CompletedTask;
        }
    }
}
