using EventSourcing.Reactors;
using EventSourcing.Tests.Shared.Postgres;
using EventSourcing.Testing.Contracts.Privacy;
using Microsoft.Extensions.DependencyInjection;
using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.Guarantees;

/// <summary>
/// Two nodes of the sample on one database, placing reservations of one day through either node, and cancelling half of
/// them through both nodes at once while the confirmation reactor decides them: the cancellations and the reactor's
/// decisions conflict on the reservation's stream. Every conflict is retried; none is logged as an error, on either node.
/// </summary>
[Collection(GuaranteesRunAlone.Name)]
public sealed class LoggedErrorsTests(PostgresFixture postgres, ITestOutputHelper output)
{
    private const int Reservations = 120;
    private const int InFlight = 8;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 120_000)]
    public async Task Racing_placements_and_cancellations_of_one_day_on_two_nodes_log_their_conflicts_as_no_error()
    {
        var ledger = new ReactionLedger();
        var (logsA, logsB) = (new LogCollector(), new LogCollector());
        List<string> lines;
        await using (var nodes = await new PostgresStore(postgres).StartNodesAsync(0, Guarantee.Setup))
        {
            var a = await nodes.StartNodeAsync(ReactorNodes.Setup("node-a", Reservations * 4, ledger, logsA));
            var b = await nodes.StartNodeAsync(ReactorNodes.Setup("node-b", Reservations * 4, ledger, logsB));
            using var clientA = a.CreateClient();
            using var clientB = b.CreateClient();
            var day = Bodies.UniqueDay();
            await Parallel.ForEachAsync(Enumerable.Range(0, Reservations), new ParallelOptions { MaxDegreeOfParallelism = InFlight, CancellationToken = Ct }, async (i, _) =>
            {
                var placeVia = i % 2 == 0 ? clientA : clientB;
                var placed = await placeVia.PlaceAcceptedAsync(Bodies.Valid(day, partySize: 1 + (i % 4)));
                if (i % 2 == 0)
                {
                    // Cancelled through both nodes at once, while the reactor may be deciding it: the three race on its stream.
                    var cancels = await Task.WhenAll(clientA.CancelAsync(placed.Id), clientB.CancelAsync(placed.Id));
                    foreach (var cancelled in cancels)
                    {
                        using (cancelled)
                        {
                            Assert.True((int)cancelled.StatusCode is 200 or 409, $"cancellation answered {cancelled.StatusCode}");
                        }
                    }
                }
            });

            // The reactor has decided every placement (its own appends move the head on: until it stays).
            var status = a.Services.GetRequiredService<ReactorStatusReader>();
            var events = a.Services.GetRequiredService<EventSourcing.Storage.IEventStore>();
            for (var head = -1L; head != (head = await events.ReadHeadPositionAsync(Ct));)
            {
                Assert.True(await status.WaitForAsync(ReactorNodes.Reactor, head, TimeSpan.FromSeconds(60), Ct), $"The reactor did not pass {head} within a minute.");
            }

            // While both nodes run (stopping one is the next test's).
            lines = [.. logsA.Lines.Select(line => $"[node-a] {line}").Concat(logsB.Lines.Select(line => $"[node-b] {line}"))];
        }

        var conflicts = lines.Count(line => line.Contains("Conflict on stream", StringComparison.Ordinal));
        var errors = lines.Where(line => line.Split(' ', 3)[1] is "Error" or "Critical").ToList();
        output.WriteLine($"{conflicts} conflicts retried; {errors.Count} error entries");
        Assert.True(conflicts > 0, "no conflict happened: the test proves nothing");
        Assert.True(errors.Count == 0, string.Join(Environment.NewLine, errors.Select(line => line.Length > 3000 ? line[..3000] : line)));
    }

    [Fact(Timeout = 120_000)]
    public async Task A_node_that_stops_in_order_hands_its_reactor_over_unfenced_and_neither_node_logs_an_error()
    {
        var ledger = new ReactionLedger();
        var logs = new Dictionary<string, LogCollector> { ["node-a"] = new(), ["node-b"] = new() };
        await using var nodes = await new PostgresStore(postgres).StartNodesAsync(0, Guarantee.Setup);
        var apps = new Dictionary<string, ReservationsApp>
        {
            ["node-a"] = await nodes.StartNodeAsync(ReactorNodes.Setup("node-a", 100, ledger, logs["node-a"])),
            ["node-b"] = await nodes.StartNodeAsync(ReactorNodes.Setup("node-b", 100, ledger, logs["node-b"])),
        };
        using (var client = apps["node-a"].CreateClient())
        {
            await client.WaitForOutcomeAsync(await client.PlaceAcceptedAsync(Bodies.Valid(Bodies.UniqueDay())));
        }

        var leader = (await ReactorNodes.StatusAsync(apps["node-a"])).Node!;
        var taker = leader == "node-a" ? "node-b" : "node-a";
        await apps[leader].DisposeAsync(); // stops in order: its reactor lets go of the leadership, then its daemon and store

        await Eventually.Async(() => ReactorNodes.StatusAsync(apps[taker]), s => s.Node == taker && s.State == ReactorStates.Running, $"{taker} running the reactor");
        using (var client = apps[taker].CreateClient())
        {
            Assert.Equal("confirmed", (await client.WaitForOutcomeAsync(await client.PlaceAcceptedAsync(Bodies.Valid(Bodies.UniqueDay())))).Status);
        }

        var lines = logs.SelectMany(pair => pair.Value.Lines.Select(line => $"[{pair.Key}] {line}")).ToList();
        var errors = lines.Where(line => line.Split(' ', 3)[1] is "Error" or "Critical").ToList();
        Assert.Contains(logs[taker].Lines, line => line.Contains($"over from {leader}, which handed it over", StringComparison.Ordinal));
        Assert.DoesNotContain(logs[taker].Lines, line => line.Contains("ended its", StringComparison.Ordinal));
        Assert.True(errors.Count == 0, string.Join(Environment.NewLine, errors.Select(line => line.Length > 3000 ? line[..3000] : line)));
    }
}
