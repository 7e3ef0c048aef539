using EventSourcing.Tests.Shared.Postgres;

namespace Reservations.Tests.Faults;

/// <summary>
/// An event no reader can make sense of, appended under load by another writer (a placement whose data does not fit
/// <c>reservation-placed.v1</c>): the projections dead-letter it, the admin status shows it, the reactor skips it with a
/// dead letter of its own (shown in the admin status too), and everything else keeps flowing: the views keep updating and the reactor keeps confirming.
/// </summary>
[Collection(FaultTestsRunAlone.Name)]
public sealed class PoisonEventTests(PostgresFixture postgres)
{
    private const string PoisonData = """{"id":"not-a-uuid","guestId":"nobody","day":"someday","partySize":"many"}""";
    private static readonly string[] DeadLettering = ["day-availability", "reactor:reservation-confirmation", "reservation-details"];

    [Fact(Timeout = 300_000)]
    public async Task A_poison_event_appended_under_load_is_dead_lettered_and_shown_while_views_and_the_reactor_keep_going()
    {
        await using var run = await LoadedSample.StartAsync(await postgres.CreateDatabaseAsync("poison", TestContext.Current.CancellationToken));

        await run.WaitForAcknowledgedAsync(60, TimeSpan.Zero, "before the poison event");
        var poisoned = Guid.NewGuid();
        var poison = await run.Log.AppendAsync($"reservation-{poisoned}", "reservation-placed.v1", PoisonData, "legacy-import");
        await run.WaitForAcknowledgedAsync(100, run.Now, "after the poison event");
        var (sentAgain, verdict) = await run.StopAndCheckAsync();
        var after = run.Load.Acknowledged.Values.Count(p => p.Position > poison);
        var statuses = (await run.ProjectionsAsync()).Where(s => s.Lifecycle != "reactor").ToList();
        var reactor = await Eventually.Async(async () => Assert.Single(await run.ProjectionsAsync(), s => s.Lifecycle == "reactor"), r => r.Lag == 0, "the reactor's checkpoint to reach the head");
        var letters = await run.Log.DeadLettersAsync();
        using var history = await run.Client.GetAsync(Infrastructure.ReservationsApi.Url($"/reservations/{poisoned}/history"), TestContext.Current.CancellationToken);

        LoadFigures.Print("A poison event appended under load", run.Load,
        [
            ("poison event position", poison),
            ("reservations acknowledged after it", after),
            ("dead letters per projection (admin status)", string.Join(", ", statuses.Select(s => $"{s.Name} {s.DeadLetters}"))),
            ("dead letters kept (projections and reactor) at positions", string.Join(", ", letters.Select(l => $"{l.Key} {string.Join('/', l)}"))),
            ("projection positions / head", string.Join(", ", statuses.Select(s => $"{s.Name} {s.Position}/{s.Head}"))),
            ("the reactor in the admin status: dead letters, state, position / head", $"{reactor.DeadLetters}, {reactor.State}, {reactor.Position}/{reactor.Head}"),
            ("the poisoned reservation's history (its stream cannot be read)", (int)history.StatusCode),
            .. verdict.Figures,
        ]);

        verdict.AssertNothingWrong();
        Assert.True(after >= 100, $"only {after} reservations were placed after the poison event");
        Assert.All(statuses, s => Assert.Equal((1, "running", 0L), (s.DeadLetters, s.State, s.Lag)));
        Assert.Equal((1, "running"), (reactor.DeadLetters, reactor.State));
        Assert.Equal(DeadLettering.Select(name => (name, poison)), letters.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => (l.Key, Assert.Single(l))));
        Assert.All(run.Load.Outcomes, o => Assert.True(o.Status is 200 or 202, $"{o.Kind} sent at {o.Sent} answered {o.Answer}"));
        Assert.All(sentAgain, r => Assert.True(r.Acknowledged, r.Answer));
    }
}
