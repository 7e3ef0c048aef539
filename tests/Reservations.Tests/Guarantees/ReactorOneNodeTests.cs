using System.Diagnostics;
using EventSourcing.Reactors;
using EventSourcing.Tests.Shared.Postgres;
using EventSourcing.Testing.Contracts.Privacy;
using Reservations.Tests.Faults;
using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.Guarantees;

/// <summary>
/// The confirmation reactor on two nodes of one database: it runs on one of them, and every reservation is decided
/// exactly once, on its day's stream and its own, with no reaction made twice or by both nodes, no conflict (no sequence
/// number burned), no seat held for a reservation that is not confirmed, and views equal to the log. Both nodes' status
/// names the same node as running it.
/// </summary>
[Collection(GuaranteesRunAlone.Name)]
public sealed class ReactorOneNodeTests(PostgresFixture postgres)
{
    private const int Placements = 1_000;
    private const int InFlightPerNode = 8;
    private const int Days = 5;
    private const int SeatsPerDay = 80;
    private const string NodeA = "node-a";
    private const string NodeB = "node-b";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 120_000)]
    public async Task A_thousand_placements_over_two_nodes_are_each_decided_once_by_one_node_without_conflicts_and_the_views_equal_the_log()
    {
        var ledger = new ReactionLedger();
        var started = Stopwatch.StartNew();
        var (logsA, logsB) = (new LogCollector(), new LogCollector());
        await using var nodes = await new PostgresStore(postgres).StartNodesAsync(0, Guarantee.Setup);
        // Started together: both runners try to be elected at the same moment.
        var (a, b) = await BothAsync(nodes.StartNodeAsync(ReactorNodes.Setup(NodeA, SeatsPerDay, ledger, logsA)), nodes.StartNodeAsync(ReactorNodes.Setup(NodeB, SeatsPerDay, ledger, logsB)));
        using var clientA = a.CreateClient();
        using var clientB = b.CreateClient();
        var first = Bodies.UniqueDay();
        DateOnly[] days = [.. Enumerable.Range(0, Days).Select(first.AddDays)];
        Guarantee.Report($"two nodes started in {started.Elapsed.TotalSeconds:F1} s");
        var clock = Stopwatch.StartNew();
        var (loadA, loadB) = (new ReservationLoad(_ => clientA, days, clock), new ReservationLoad(_ => clientB, days, clock));

        // Placements through both nodes at once, a few in flight on each (bursts: all of one answered before the next).
        for (var placed = 0; placed < Placements; placed += 2 * InFlightPerNode)
        {
            var perNode = Math.Min(InFlightPerNode, (Placements - placed) / 2);
            await Task.WhenAll(loadA.BurstAsync(perNode), loadB.BurstAsync(perNode));
        }

        var placing = clock.Elapsed;
        var log = new Faults.EventLog(nodes.ConnectionString);
        var verdicts = new[] { await NothingLost.CheckAsync(clientA, log, loadA, days, SeatsPerDay), await NothingLost.CheckAsync(clientB, log, loadB, days, SeatsPerDay) };
        var decided = clock.Elapsed;
        var (statusA, statusB) = (await ReactorNodes.StatusAsync(a), await ReactorNodes.StatusAsync(b));
        var leader = statusA.Node ?? "none";
        var acknowledged = loadA.Acknowledged.Values.Concat(loadB.Acknowledged.Values).Select(p => p.Id).ToHashSet();
        var decisions = await new DecisionLog(nodes.ConnectionString).ReadAsync();
        var (burned, tombstones, events) = await new DecisionLog(nodes.ConnectionString).SequenceAsync();
        var availability = new Dictionary<DateOnly, int>();
        foreach (var day in days)
        {
            availability[day] = (await clientA.GetAvailabilityAsync(day)).Held;
        }

        var logs = logsA.Lines.Concat(logsB.Lines).ToArray();
        var conflicts = logs.Count(l => l.Contains("Conflict on stream", StringComparison.Ordinal));
        var repeats = logs.Count(l => l.Contains("is already applied to stream", StringComparison.Ordinal));
        var elected = RunsOn(logsA, NodeA) + RunsOn(logsB, NodeB);
        var confirmed = decisions.Values.Count(d => d.Confirmed);
        Guarantee.Report($"{acknowledged.Count} of {Placements} placements acknowledged in {placing.TotalSeconds:F1} s ({Guarantee.Histogram(loadA.Outcomes.Concat(loadB.Outcomes).Select(o => o.Answer))}); all decided after {decided.TotalSeconds:F1} s: {confirmed} confirmed, {decisions.Count - confirmed} rejected");
        Guarantee.Report($"reactor run by {leader} (status on {NodeA}: {statusA.Node} {statusA.State}; on {NodeB}: {statusB.Node} {statusB.State}); elections won {elected}; reactions per node: {ledger}; events reacted to {ledger.Events}, the last {ledger.LastCall.TotalSeconds:F1} s after the nodes started, {ledger.Busy.TotalSeconds:F1} s spent in the reactor");
        Guarantee.Report($"log: {events} events, {burned} sequence numbers burned, {tombstones} tombstones; {conflicts} conflict retries, {repeats} repeated commands; seats held per day {string.Join(", ", days.Select(d => $"{ReservationsApi.Text(d)}: {availability[d]}"))} of {SeatsPerDay}");

        var broken = new Broken();
        broken.Add("placements not acknowledged", Placements - acknowledged.Count);
        broken.Add("NothingLost problems (lost, placed twice, undecided, views unlike the log, over capacity)", verdicts.Sum(v => v.Problems.Count));
        broken.Add("reactions executed by more than one node", ledger.OnMoreThanOneNode);
        broken.Add("reactions executed more than once", ledger.MoreThanOnce);
        broken.Add("reactions executed by a node the status does not name", ledger.ElsewhereThan(leader));
        broken.Add("elections won (\"runs on\" log lines) beyond one", Math.Abs(elected - 1));
        broken.Add("sequence numbers burned (max(seq_id) - count(*))", (int)burned);
        broken.Add("Marten tombstones (failed appends)", (int)tombstones);
        broken.Add("conflict retries (ConcurrencyException) on either node", conflicts);
        broken.Add("reservations not decided exactly once on their own stream", acknowledged.Count(id => decisions.GetValueOrDefault(id)?.Outcomes != 1));
        broken.Add("reservations not decided exactly once on their day's stream", acknowledged.Count(id => decisions.GetValueOrDefault(id)?.DayDecisions != 1));
        broken.Add("seats held for reservations not confirmed", decisions.Values.Count(d => d.Held > 0 && !d.Confirmed));
        broken.Add("confirmed reservations holding other than their party size", decisions.Values.Count(d => d.Confirmed && d.Held != d.PartySize));
        broken.Add("days whose availability is not the seats of their confirmed reservations in the log", days.Count(day =>
            availability[day] != decisions.Values.Where(d => d.Day == day && d.Confirmed).Sum(d => d.PartySize)
            || availability[day] != decisions.Values.Where(d => d.Day == day).Sum(d => d.Held)));
        broken.Add("the load tested nothing: every reservation confirmed, or every one rejected", confirmed == 0 || confirmed == decisions.Count ? 1 : 0);
        broken.AssertNone();
    }

    [Fact(Timeout = 120_000)]
    public async Task Both_nodes_status_names_the_node_running_the_reactor_and_the_other_takes_over_when_it_stops()
    {
        var ledger = new ReactionLedger();
        var logs = new Dictionary<string, LogCollector> { [NodeA] = new(), [NodeB] = new() };
        await using var nodes = await new PostgresStore(postgres).StartNodesAsync(0, Guarantee.Setup);
        var byName = new Dictionary<string, ReservationsApp>
        {
            [NodeA] = await nodes.StartNodeAsync(ReactorNodes.Setup(NodeA, SeatsPerDay, ledger, logs[NodeA])),
            [NodeB] = await nodes.StartNodeAsync(ReactorNodes.Setup(NodeB, SeatsPerDay, ledger, logs[NodeB])),
        };
        using var clientA = byName[NodeA].CreateClient();
        using var clientB = byName[NodeB].CreateClient();
        await clientB.WaitForOutcomeAsync(await clientB.PlaceAcceptedAsync(Bodies.Valid(Bodies.UniqueDay())));

        var statuses = new Dictionary<string, EventSourcing.Projections.ProjectionStatus>();
        foreach (var (name, node) in byName)
        {
            statuses[name] = await ReactorNodes.StatusAsync(node);
        }

        var leader = statuses[NodeA].Node ?? "none";
        var standby = leader == NodeA ? NodeB : NodeA;
        Guarantee.Report($"status on {NodeA}: {statuses[NodeA].Node} {statuses[NodeA].State}; on {NodeB}: {statuses[NodeB].Node} {statuses[NodeB].State}; reactions: {ledger}");
        using (var request = new HttpRequestMessage(HttpMethod.Get, ReservationsApi.Url("/admin/projections")).WithApiKey(ReservationsApp.AdminKey))
        using (var response = await clientB.SendAsync(request, Ct))
        {
            var rows = await response.ReadAsync<List<ProjectionStatus>>(System.Net.HttpStatusCode.OK);
            Guarantee.Report($"GET /admin/projections lists: {string.Join(", ", rows.Select(r => $"{r.Name} ({r.Lifecycle})"))}");
        }

        var broken = new Broken();
        broken.Add("nodes whose status names no node", statuses.Values.Count(s => s.Node is null));
        broken.Add("nodes naming another node than the first does", statuses.Values.Count(s => s.Node != leader));
        broken.Add("nodes not reporting the reactor running", statuses.Values.Count(s => s.State != ReactorStates.Running));
        broken.Add("named node not one of the two", byName.ContainsKey(leader) ? 0 : 1);
        broken.Add("reactions made by the node not named", ledger.ElsewhereThan(leader));
        broken.Add("'runs on' log lines of the node not named", byName.ContainsKey(leader) ? RunsOn(logs[standby], standby) : 0);
        broken.Add("'runs on' log lines of the named node, less one", byName.ContainsKey(leader) ? Math.Abs(RunsOn(logs[leader], leader) - 1) : 1);

        // The running node goes away: the other takes over (it tries every second) and says so; the first reaction after is its own.
        if (byName.TryGetValue(leader, out var running))
        {
            var clock = Stopwatch.StartNew();
            await running.DisposeAsync();
            var after = await Eventually.Async(() => ReactorNodes.StatusAsync(byName[standby]), s => s.Node == standby && s.State == ReactorStates.Running, $"{standby} to run the reactor", ReservationsApi.Patience, TimeSpan.FromMilliseconds(100));
            var tookOver = clock.Elapsed;
            var before = ledger.PerNode.GetValueOrDefault(standby);
            var survivor = standby == NodeB ? clientB : clientA;
            await survivor.WaitForOutcomeAsync(await survivor.PlaceAcceptedAsync(Bodies.Valid(Bodies.UniqueDay())));
            Guarantee.Report($"{leader} stopped: {standby} reports {after.Node} {after.State} after {tookOver.TotalSeconds:F1} s; reactions: {ledger}");
            broken.Add("reactions after the fail-over not made by the survivor", ledger.PerNode.GetValueOrDefault(standby) - before < 2 ? 1 : 0);
            broken.Add("'runs on' log lines of the survivor, less one", Math.Abs(RunsOn(logs[standby], standby) - 1));
        }

        broken.AssertNone();
    }

    private static async Task<(ReservationsApp, ReservationsApp)> BothAsync(Task<ReservationsApp> first, Task<ReservationsApp> second)
    {
        await Task.WhenAll(first, second);
        return (await first, await second);
    }

    private static int RunsOn(LogCollector logs, string node) =>
        logs.Lines.Count(l => l.Contains($"Reactor {ReactorNodes.Reactor} runs on {node}", StringComparison.Ordinal));
}
