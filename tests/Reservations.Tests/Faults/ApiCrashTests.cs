using EventSourcing.Tests.Shared.Postgres;

namespace Reservations.Tests.Faults;

/// <summary>
/// The sample API killed outright (SIGKILL) under load, right after a burst of placements, and started again on the same
/// address: every acknowledged reservation is there, those the reactor had not decided yet are decided after the restart
/// (it resumes from its checkpoint), and availability equals the seats held.
/// </summary>
[Collection(FaultTestsRunAlone.Name)]
public sealed class ApiCrashTests(PostgresFixture postgres)
{
    private const int Burst = 60;

    [Fact(Timeout = 300_000)]
    public async Task Killed_under_load_and_started_again_the_API_keeps_every_acknowledged_reservation_and_decides_the_pending_ones()
    {
        await using var run = await LoadedSample.StartAsync(await postgres.CreateDatabaseAsync("crash", TestContext.Current.CancellationToken));
        var load = run.Load;

        await run.WaitForAcknowledgedAsync(100, TimeSpan.Zero, "before the kill");
        var burst = await load.BurstAsync(Burst);
        var killing = run.Now;
        var killed = killing;
        var pending = new List<Guid>();
        var halfway = 0;
        await run.KillAndStartAgainAsync(async () =>
        {
            killed = run.Now;
            var statuses = await run.Log.StatusesAsync();
            var holders = await run.Log.HoldersAsync();
            pending.AddRange(statuses.Where(s => s.Value == "tentative").Select(s => s.Key));
            halfway = pending.Count(holders.Contains);
        });
        var listening = run.Now;
        await run.WaitForAcknowledgedAsync(60, listening, "after the restart");
        var (sentAgain, verdict) = await run.StopAndCheckAsync();

        var outcomes = load.Outcomes.ToList();
        var served = outcomes.Where(o => o.Answered >= listening && o.Acknowledged).Min(o => o.Answered);
        var unanswered = outcomes.Where(o => o.Status is null).ToList();
        LoadFigures.Print("The API killed (SIGKILL) under load and started again", load,
        [
            ("timeline (s): killed, listening again", $"{LoadFigures.Seconds(killing)}, {LoadFigures.Seconds(listening)}"),
            ("burst just before the kill: placements, acknowledged", $"{Burst}, {burst.Count(b => b.Acknowledged)}"),
            ("placements in flight at the kill (sent, never answered)", unanswered.Count(o => o.Kind == Outcome.Place && o.Sent <= killed)),
            ("requests refused while the API was down", unanswered.Count(o => o.Sent > killed)),
            ("reservations tentative at the kill (reactor not run yet)", pending.Count),
            ("of which seats held but not yet confirmed", halfway),
            ("API down (kill to listening again), s", LoadFigures.Seconds(listening - killing)),
            ("first 2xx after listening again (ms)", LoadFigures.Milliseconds(served - listening)),
            .. verdict.Figures,
        ]);

        verdict.AssertNothingWrong();
        Assert.True(pending.Count > 0, "the kill left no reservation undecided: the reactor's resumption was not put to the test");
        Assert.All(outcomes, o => Assert.True(o.Status is 200 or 202 || (o.Status is null && o.Answered >= killing && o.Sent <= listening), $"{o.Kind} sent at {o.Sent} answered {o.Answer}"));
        Assert.All(sentAgain, r => Assert.True(r.Acknowledged, $"a placement sent again after the restart answered {r.Answer}"));
        Assert.Empty(load.Unacknowledged);
        Assert.False(run.Sample.HasExited, run.Sample.OutputTail);
    }
}
