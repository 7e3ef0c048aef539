using System.Collections.Concurrent;
using System.Diagnostics;
using EventSourcing.Events;
using EventSourcing.Forwarding;
using EventSourcing.Hosting;
using EventSourcing.Marten.Hosting;
using EventSourcing.Reactors;
using EventSourcing.Storage;
using EventSourcing.Testing.Contracts.Domain;
using EventSourcing.Testing.Contracts.Projections;
using EventSourcing.Tests.Shared.Nats;
using EventSourcing.Tests.Shared.Postgres;
using Microsoft.Extensions.DependencyInjection;
using EventSourcing.Tests.Shared.Waiting;

namespace EventSourcing.Nats.Tests;

/// <summary>
/// Two application nodes on one PostgreSQL database, both with a forwarder to one JetStream stream: one forwards at a
/// time; when it stops, the other takes over from the checkpoint; the broker holds every event of the log once, each
/// stream in order.
/// </summary>
public sealed class ForwarderNodesTests(NatsFixture nats, PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private static readonly string MasterKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task One_node_forwards_at_a_time_and_the_other_takes_over_with_nothing_lost_or_doubled()
    {
        var database = await postgres.CreateDatabaseAsync("forwarding", Ct);
        var options = NatsTestOptions.Fresh(nats.Url);
        var publishes = new ConcurrentQueue<(string Node, long Started, long Ended, int Events)>();
        var hosts = new Dictionary<string, ProjectionHost>
        {
            ["node-a"] = await StartAsync("node-a", database, options, publishes),
            ["node-b"] = await StartAsync("node-b", database, options, publishes),
        };
        try
        {
            await AppendAsync(hosts.Values, 600);
            var status = hosts["node-a"].Services.GetRequiredService<ReactorStatusReader>();
            await UntilAsync(async () => (await ForwarderAsync(status)) is { Position: > 0, Node: not null }, "a forwarder to run");
            var leader = (await ForwarderAsync(status)).Node!;
            var other = leader == "node-a" ? "node-b" : "node-a";
            await hosts[leader].DisposeAsync(); // stops in order, in the middle of the log
            hosts.Remove(leader);

            await AppendAsync(hosts.Values, 600);
            var head = await hosts[other].Store.ReadHeadPositionAsync(Ct);
            var survivor = hosts[other].Services.GetRequiredService<ReactorStatusReader>();
            Assert.True(await survivor.WaitForAsync("forwarder", head, Patience, Ct), $"{other} did not forward up to {head}");

            var stored = await JetStreamReader.ReadAllAsync(nats.Url, options.StreamName, Ct);
            var log = await hosts[other].Store.ReadAllAsync(1, Ct).ToListAsync(Ct);
            var counts = stored.GroupBy(e => e.EventId).ToDictionary(g => g.Key, g => g.Count());
            Assert.Equal(0, counts.Values.Count(count => count > 1));          // doubled
            Assert.Equal(0, log.Count(e => !counts.ContainsKey(e.EventId)));   // lost
            Assert.Equal(log.Count, stored.Count);
            Assert.All(stored.GroupBy(e => e.StreamId), stream => Assert.Equal(stream.Select(e => e.StreamVersion).Order(), stream.Select(e => e.StreamVersion)));

            // One at a time: no publish of one node overlaps a publish of the other; both forwarded.
            var byNode = publishes.GroupBy(p => p.Node).ToDictionary(g => g.Key, g => g.ToList());
            Assert.Equal(["node-a", "node-b"], byNode.Keys.Order(StringComparer.Ordinal));
            Assert.DoesNotContain(byNode[leader], a => byNode[other].Any(b => a.Started < b.Ended && b.Started < a.Ended));
        }
        finally
        {
            foreach (var host in hosts.Values)
            {
                await host.DisposeAsync();
            }
        }
    }

    private static Task<ProjectionHost> StartAsync(string node, string database, NatsTransportOptions options, ConcurrentQueue<(string, long, long, int)> publishes) =>
        ProjectionHost.StartAsync(
            es =>
            {
                TallyDecider.Register(es.Events);
                es.SetNodeName(node)
                    .ConfigurePersonalData(o => o.MasterKey ??= MasterKey)
                    .UseMarten(database)
                    .AddForwarder(o => o.CheckpointInterval = TimeSpan.FromMilliseconds(100));
            },
            configureServices: services =>
            {
                services.AddNatsTransport(o => (o.Url, o.StreamName, o.SubjectPrefix) = (options.Url, options.StreamName, options.SubjectPrefix));
                services.AddSingleton<IEventTransport>(provider => new WatchedTransport(node, provider.GetRequiredService<NatsJetStreamTransport>(), publishes));
            });

    private static async Task<EventSourcing.Projections.ProjectionStatus> ForwarderAsync(ReactorStatusReader status) =>
        (await status.ReadAsync(Ct)).Single(s => s.Name == "forwarder");

    /// <summary>Appends through every host in turn, over 12 streams.</summary>
    private static async Task AppendAsync(IEnumerable<ProjectionHost> hosts, int count)
    {
        var writers = hosts.ToArray();
        var prefix = Guid.NewGuid().ToString("N")[..8];
        for (var i = 0; i < count; i++)
        {
            await writers[i % writers.Length].Store.AppendAsync($"tally-{prefix}{i % 12}", ExpectedVersion.Any, [new TallyIncreased(1, i)], EventMetadata.Empty, Ct);
        }
    }

    private static Task UntilAsync(Func<Task<bool>> condition, string what) => Eventually.UntilAsync(condition, what, Patience);

    /// <summary>The node's transport, each publish recorded with when it began and ended.</summary>
    private sealed class WatchedTransport(string node, IEventTransport inner, ConcurrentQueue<(string, long, long, int)> publishes) : IEventTransport
    {
        public string Name => inner.Name;

        public async ValueTask PublishAsync(IReadOnlyList<ForwardedEvent> events, CancellationToken cancellationToken = default)
        {
            var started = Stopwatch.GetTimestamp();
            await inner.PublishAsync(events, cancellationToken);
            publishes.Enqueue((node, started, Stopwatch.GetTimestamp(), events.Count));
        }
    }
}
