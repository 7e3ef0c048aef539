using EventSourcing.Tests.Shared.Postgres;

namespace Reservations.Tests.Faults;

/// <summary>
/// Two processes of the sample on one database under load, the reactor running in one of them: that one killed outright
/// (SIGKILL) right after a burst of placements. The other runs the reactor within <see cref="ReactorTakeover.Bound"/>
/// and decides what was placed after the kill; the reservations the killed one had not decided are decided, each once,
/// no seat is held twice or for a reservation that is not confirmed, and nothing acknowledged is lost.
/// </summary>
[Collection(FaultTestsRunAlone.Name)]
public sealed class ReactorFailoverTests(PostgresFixture postgres)
{
    private const int Burst = 10;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 180_000)]
    public async Task The_process_running_the_reactor_killed_under_load_the_other_takes_over_within_the_bound_and_decides_every_reservation_once()
    {
        await using var run = await LoadedSample.StartAsync(await postgres.CreateDatabaseAsync("failover", Ct), processes: 2, cancelEvery: 5);
        var load = run.Load;

        await run.WaitForAcknowledgedAsync(80, TimeSpan.Zero, "before the kill");
        var leader = await run.WaitForLeaderAsync();
        var standby = run.Nodes.Single(n => n != leader);
        var burst = await load.BurstAsync(Burst);
        var killed = run.Now;
        await leader.KillAsync();
        var gone = run.Now - killed;
        var statuses = await run.Log.StatusesAsync();
        var pending = statuses.Where(s => s.Value == "tentative").Select(s => s.Key).ToHashSet();
        var (checkpoint, head) = await run.Log.ReactorProgressAsync();
        var takeover = await ReactorTakeover.MeasureAsync(run, standby, killed, 3 * ReactorTakeover.Bound);
        await run.WaitForAcknowledgedAsync(60, killed, "after the kill");
        var (sentAgain, verdict) = await run.StopAndCheckAsync();
        var decisions = await run.Log.DecisionsAsync();
        var probe = decisions.GetValueOrDefault(takeover.Probe) ?? new Decisions();

        var outcomes = load.Outcomes.ToList();
        LoadFigures.Print("Two processes under load, the one running the reactor killed (SIGKILL)", load,
        [
            ("the reactor ran on", $"process {leader.Index} of 2 (killed at {LoadFigures.Seconds(killed)} s, gone after {LoadFigures.Milliseconds(gone)} ms)"),
            ("burst just before the kill: placements, acknowledged", $"{Burst}, {burst.Count(b => b.Acknowledged)}"),
            ("reservations undecided at the kill", pending.Count),
            ("the reactor's committed checkpoint and the head of the log at the kill", $"{checkpoint}, {head}"),
            ("takeover after the kill", takeover.Describe()),
            ("takeover: lock held and a reservation placed after the kill decided", $"{Takeover.Show(takeover.Total)} (bound {LoadFigures.Milliseconds(ReactorTakeover.Bound)} ms)"),
            ("requests to the killed process in flight or refused", outcomes.Count(o => o.Status is null)),
            ("the probe's decisions (held, refused, confirmed, rejected)", $"{probe.Held}, {probe.Refused}, {probe.Confirmed}, {probe.Rejected}"),
            .. verdict.Figures,
        ]);

        verdict.AssertNothingWrong();
        Assert.True(takeover.Within(ReactorTakeover.Bound), $"the other process took {takeover.Describe()} to take the reactor over, more than {ReactorTakeover.Bound}");
        Assert.True(pending.Count > 0, "the kill left no reservation undecided: the takeover's catching up was not put to the test");
        Assert.Equal((1, 1), (probe.Held + probe.Refused, probe.Confirmed + probe.Rejected));
        Assert.All(sentAgain, r => Assert.True(r.Acknowledged, $"a placement sent again after the kill answered {r.Answer}"));
        Assert.Empty(load.Unacknowledged);
        Assert.DoesNotContain(outcomes, o => o.Status is >= 500 and not 503);
        Assert.False(standby.Process.HasExited, standby.Process.OutputTail);
    }
}
