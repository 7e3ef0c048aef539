using EventSourcing.Projections;
using EventSourcing.Reactors;
using EventSourcing.Storage;

namespace EventSourcing.Core.Tests.Reactors;

/// <summary>
/// The store away while the reactor's commands run (<see cref="EventStoreUnavailableException"/> from the handler): waited
/// out for as long as it lasts, never counted as an attempt, so an outage longer than the poison policy's attempts
/// never dead-letters or stops anything.
/// </summary>
public sealed class ReactorStoreOutageTests
{
    private const int Outages = 20;
    private static readonly string Name = ReactorRunner.CheckpointName("parcels");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(PoisonEventPolicy.DeadLetter)]
    [InlineData(PoisonEventPolicy.Stop)]
    public async Task Twenty_outage_failures_then_success_handle_the_event_once_with_no_letter_and_no_stop(PoisonEventPolicy policy)
    {
        await using var bench = new ReactorBench();
        var away = await SendThreeAsync(bench);
        var reactor = new ScriptedReactor((e, attempt) => e.Position == away && attempt <= Outages ? new EventStoreUnavailableException("The database is restarting.") : null);
        var runner = await bench.StartAsync(reactor, new ReactorOptions { MaxAttempts = 2, OnPoisonEvent = policy });

        await bench.UntilAsync(() => reactor.HandledCount == 3, "the three events to be handled");
        await CheckAsync(bench, runner, away, expectedCalls: Outages + 1, expectedAttemptWarnings: 0);
    }

    [Fact]
    public async Task Outages_between_ordinary_failures_do_not_add_up_to_the_attempts_allowed()
    {
        await using var bench = new ReactorBench();
        var away = await SendThreeAsync(bench);
        // One ordinary failure, twenty outages, then success: one attempt failed of the two allowed.
        var reactor = new ScriptedReactor((e, attempt) => e.Position != away ? null : attempt switch
        {
            1 => new InvalidOperationException("The label printer jammed."),
            <= Outages + 1 => new EventStoreUnavailableException("The database is restarting."),
            _ => null,
        });
        var runner = await bench.StartAsync(reactor, new ReactorOptions { MaxAttempts = 2, OnPoisonEvent = PoisonEventPolicy.Stop });

        await bench.UntilAsync(() => reactor.HandledCount == 3, "the three events to be handled");
        await CheckAsync(bench, runner, away, expectedCalls: Outages + 2, expectedAttemptWarnings: 1);
    }

    /// <summary>Three parcels; returns the position of the second, the one whose commands meet the outage.</summary>
    private static async Task<long> SendThreeAsync(ReactorBench bench)
    {
        await bench.SendAsync(1);
        var away = await bench.SendAsync(2);
        await bench.SendAsync(3);
        return away;
    }

    private static async Task CheckAsync(ReactorBench bench, ReactorBench.Runner runner, long away, int expectedCalls, int expectedAttemptWarnings)
    {
        var reactor = runner.Reactor;
        var reachedHead = await runner.WaitForAsync(3);
        var letters = await bench.Checkpoints.ReadDeadLettersAsync(Name, Ct);
        var status = await runner.ReadStatusAsync();
        var attemptWarnings = bench.Logs.Lines.Count(l => l.Contains($"failed on the event at position {away}", StringComparison.Ordinal));
        var outageWarnings = bench.Logs.Lines.Count(l => l.Contains($"cannot reach the store at position {away}", StringComparison.Ordinal));

        BrokenPromises.Report($"calls at the event {reactor.AttemptsAt(away)}; handled {string.Join(",", reactor.Handled)}; outage warnings {outageWarnings}, attempt warnings {attemptWarnings}; letters {letters.Count}; status {status.State} at {status.Position}; fake time passed {bench.Time.GetUtcNow() - new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero)}");
        var broken = new BrokenPromises();
        broken.Add("calls at the event other than expected (outages given up on, or tried more)", Math.Abs(reactor.AttemptsAt(away) - expectedCalls));
        broken.Add("events not handled exactly once", Enumerable.Range(1, 3).Count(p => reactor.Handled.Count(h => h == p) != 1));
        broken.Add("dead letters", letters.Count);
        broken.Add("error lines (poison or otherwise)", bench.Errors.Count);
        broken.Add("outages logged as failed attempts", attemptWarnings - expectedAttemptWarnings);
        broken.Add("outages not logged as such", Math.Abs(outageWarnings - Outages));
        broken.Add("WaitForAsync(head) false", !reachedHead);
        broken.Add("status not running at the head", (status.State, status.Position) != (ReactorStates.Running, 3L));
        broken.AssertNone();
    }
}
