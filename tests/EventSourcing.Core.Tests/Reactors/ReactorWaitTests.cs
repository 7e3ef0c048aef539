using System.Diagnostics;
using EventSourcing.Projections;
using EventSourcing.Reactors;

namespace EventSourcing.Core.Tests.Reactors;

/// <summary>
/// <see cref="ReactorStatusReader.WaitForAsync"/>: true once the reactor has handled every event up to the position
/// (its committed checkpoint has passed it), also when the event there is of a type it does not handle, in the process
/// running it and in any other; false once the timeout has passed when it cannot get there, and never true early.
/// </summary>
public sealed class ReactorWaitTests
{
    private static readonly TimeSpan Short = TimeSpan.FromMilliseconds(400);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task It_returns_true_once_the_reactor_passed_the_position_also_of_an_event_it_does_not_handle()
    {
        await using var bench = new ReactorBench();
        await bench.SendAsync(1);
        var scanned = await bench.ScanAsync(2);
        await bench.SendAsync(3);
        await bench.ScanAsync(4);
        var head = await bench.ScanAsync(5);
        var reactor = new ScriptedReactor(eventTypes: [typeof(ParcelSent)]);
        var runner = await bench.StartAsync(reactor);
        var elsewhere = bench.StatusOf(reactor); // a process sharing the store that does not run the reactor

        // The head is an event of another type: its position may be committed only once the checkpoint interval passes.
        var passedHead = await bench.WaitMovingTimeAsync(runner, head);
        var passedScanned = await runner.WaitForAsync(scanned);
        var passedHeadElsewhere = await elsewhere.WaitForAsync(reactor.Name, head, ReactorBench.Patience, Ct);
        var future = head + 1;
        var passedFutureEarly = await runner.WaitForAsync(future, Short);
        var waitingForLater = runner.WaitForAsync(future + 1, ReactorBench.Patience - TimeSpan.FromSeconds(5)); // waiting before it is appended
        await bench.ScanAsync(6);
        await bench.ScanAsync(7);
        await bench.UntilAsync(() => waitingForLater.IsCompleted, "the wait for the later event to end");
        var passedLater = await waitingForLater;

        BrokenPromises.Report($"handled {string.Join(",", reactor.Handled)}; passed {scanned}: {passedScanned}, head {head}: {passedHead}, elsewhere: {passedHeadElsewhere}, {future} before it was appended: {passedFutureEarly}, {future + 1} once appended: {passedLater}");
        var broken = new BrokenPromises();
        broken.Add("false for a passed event of another type", !passedScanned);
        broken.Add("false for the head (an event of another type)", !passedHead);
        broken.Add("false for the head in another process", !passedHeadElsewhere);
        broken.Add("true for a position not yet in the log", passedFutureEarly);
        broken.Add("false for a later event of another type, waited for before it was appended", !passedLater);
        broken.Add("events of other types given to the reactor", reactor.Given.Count(t => t != "parcel-sent.v1"));
        broken.AssertNone();
    }

    [Fact]
    public async Task It_returns_false_after_the_timeout_when_the_reactor_is_stopped_before_the_position()
    {
        await using var bench = new ReactorBench();
        var before = await bench.SendAsync(1);
        var poison = await bench.SendAsync(2);
        var head = await bench.SendAsync(3);
        var reactor = new ScriptedReactor((e, _) => e.Position == poison ? new InvalidOperationException("The carrier refused the parcel.") : null);
        var runner = await bench.StartAsync(reactor, new ReactorOptions { MaxAttempts = 2, OnPoisonEvent = PoisonEventPolicy.Stop });
        var elsewhere = bench.StatusOf(reactor);
        await bench.UntilAsync(() => runner.Progress.State == ReactorStates.Stopped, "the reactor to stop at the poison event");

        var passedBefore = await runner.WaitForAsync(before);
        var clock = Stopwatch.StartNew();
        var passedPoison = await runner.WaitForAsync(poison, Short);
        var waitedHere = clock.Elapsed;
        clock.Restart();
        var passedHeadElsewhere = await elsewhere.WaitForAsync(reactor.Name, head, Short, Ct);
        var waitedElsewhere = clock.Elapsed;

        BrokenPromises.Report($"stopped at {poison}: passed {before}: {passedBefore}; {poison}: {passedPoison} after {waitedHere.TotalMilliseconds:F0} ms; head elsewhere: {passedHeadElsewhere} after {waitedElsewhere.TotalMilliseconds:F0} ms");
        var broken = new BrokenPromises();
        broken.Add("false for the event before the stop", !passedBefore);
        broken.Add("true for the poison event", passedPoison);
        broken.Add("true for the head in another process", passedHeadElsewhere);
        broken.Add("false before the timeout (here)", waitedHere < Short * 0.9);
        broken.Add("false before the timeout (elsewhere)", waitedElsewhere < Short * 0.9);
        broken.AssertNone();
    }

    [Fact]
    public async Task After_a_replay_it_does_not_return_true_before_the_replayed_events_are_handled_again()
    {
        await using var bench = new ReactorBench();
        var head = 0L;
        for (var i = 1; i <= 5; i++)
        {
            head = await bench.SendAsync(i);
        }

        var reactor = new ScriptedReactor();
        var runner = await bench.StartAsync(reactor);
        var elsewhere = bench.StatusOf(reactor);
        Assert.True(await runner.WaitForAsync(head));

        // Replay everything. The runner notices within a second of its clock, which does not move until the test moves it:
        // until then nothing is handled again, so nothing can have passed the head of the new checkpoint.
        await runner.Status.ReplayAsync(reactor.Name, 1, Ct);
        var passedHere = await runner.WaitForAsync(head, Short);
        var passedElsewhere = await elsewhere.WaitForAsync(reactor.Name, head, Short, Ct);
        var handledAgainMeanwhile = reactor.HandledCount - 5;
        await bench.UntilAsync(() => reactor.HandledCount == 10, "the replay to handle the five events again");
        var passedAfterReplay = await runner.WaitForAsync(head);

        BrokenPromises.Report($"right after the replay (nothing handled again: {handledAgainMeanwhile} handled): WaitForAsync(head) here {passedHere}, elsewhere {passedElsewhere}; once replayed: {passedAfterReplay}; handled {string.Join(",", reactor.Handled)}");
        var broken = new BrokenPromises();
        broken.Add("true here before the replay handled anything again", passedHere && handledAgainMeanwhile == 0);
        broken.Add("true in another process before the replay handled anything again", passedElsewhere && handledAgainMeanwhile == 0);
        broken.Add("false once the replay handled the head again", !passedAfterReplay);
        broken.Add("events not handled exactly twice (once, then replayed)", Enumerable.Range(1, 5).Count(p => reactor.Handled.Count(h => h == p) != 2));
        broken.AssertNone();
    }
}
