using EventSourcing.Reactors;

namespace EventSourcing.Core.Tests.Reactors;

/// <summary>
/// Two runners of one reactor sharing one election and one checkpoint store (as two processes on one database): only the
/// elected one handles events, however they start, while the other stands by; when the elected one stops, the other
/// takes over from the checkpoint, and no event is handled by both.
/// </summary>
public sealed class ReactorLeadershipTests
{
    private const int Trials = 25;
    private const int EventsPerTrial = 20;

    [Fact]
    public async Task Of_two_runners_started_together_only_one_handles_events_and_the_other_takes_over_when_it_stops()
    {
        var (bothHandled, notOnce, notOneActive, successorRehandled, successorMissed, notNamed) = (0, 0, 0, 0, 0, 0);
        var leaders = new List<string>();
        for (var trial = 0; trial < Trials; trial++)
        {
            await using var bench = new ReactorBench();
            var (a, b) = (new ScriptedReactor(), new ScriptedReactor());
            var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var starting = new[] { a, b }.Select(async reactor =>
            {
                await gate.Task;
                return await bench.StartAsync(reactor);
            }).ToArray();
            gate.SetResult();
            var runners = await Task.WhenAll(starting);
            var head = 0L;
            for (var i = 1; i <= EventsPerTrial; i++)
            {
                head = await bench.SendAsync(i);
            }

            await bench.UntilAsync(() => a.HandledCount + b.HandledCount >= EventsPerTrial, "the events to be handled");
            Assert.True(await runners[0].WaitForAsync(head));
            await bench.LetTimePassAsync(TimeSpan.FromSeconds(30)); // the standby tries to be elected some thirty times meanwhile
            var positions = Enumerable.Range(1, EventsPerTrial).Select(p => (long)p).ToArray();
            bothHandled += positions.Count(p => a.Handled.Contains(p) && b.Handled.Contains(p));
            notOnce += positions.Count(p => a.Handled.Count(h => h == p) + b.Handled.Count(h => h == p) != 1);
            notOneActive += runners.Count(r => r.Progress.ActiveHere) == 1 ? 0 : 1;
            var (leader, standby) = a.HandledCount > 0 ? (runners[0], runners[1]) : (runners[1], runners[0]);
            leaders.Add(leader == runners[0] ? "first" : "second");
            var statuses = new[] { await leader.ReadStatusAsync(), await standby.ReadStatusAsync() };
            notNamed += statuses.Count(s => (s.Node, s.State) != ("bench", ReactorStates.Running));

            // The leader goes away; the standby is elected within a second (of the bench's clock) and goes on from the checkpoint.
            var handledByLeader = leader.Reactor.HandledCount;
            await leader.DisposeAsync();
            await bench.UntilAsync(() => standby.Progress.ActiveHere, "the standby to take over");
            for (var i = 1; i <= EventsPerTrial; i++)
            {
                head = await bench.SendAsync(EventsPerTrial + i);
            }

            await bench.UntilAsync(() => standby.Reactor.HandledCount >= EventsPerTrial, "the successor to handle the new events");
            Assert.True(await standby.WaitForAsync(head));
            successorRehandled += standby.Reactor.Handled.Count(p => p <= EventsPerTrial);
            successorMissed += Enumerable.Range(EventsPerTrial + 1, EventsPerTrial).Count(p => standby.Reactor.Handled.Count(h => h == p) != 1);
            successorMissed += leader.Reactor.HandledCount - handledByLeader; // the stopped one handles nothing more
        }

        BrokenPromises.Report($"{Trials} trials of {EventsPerTrial} events, then as many after a fail-over; elected: {string.Join(", ", leaders.GroupBy(l => l).Select(g => $"{g.Key} ×{g.Count()}"))}");
        var broken = new BrokenPromises();
        broken.Add("events handled by both runners", bothHandled);
        broken.Add("events not handled exactly once", notOnce);
        broken.Add("trials without exactly one runner active", notOneActive);
        broken.Add("status rows not naming the node as running", notNamed);
        broken.Add("events the successor handled again though the leader had committed them", successorRehandled);
        broken.Add("events after the fail-over not handled exactly once by the successor alone", successorMissed);
        broken.AssertNone();
    }

    [Fact]
    public async Task A_runner_stopped_in_the_middle_of_a_backlog_hands_over_without_its_successor_handling_again_what_it_had_handled()
    {
        const int Backlog = 300;
        const long StopsAt = 150;
        await using var bench = new ReactorBench();
        for (var i = 1; i <= Backlog; i++)
        {
            await bench.SendAsync(i);
        }

        // The first runner is elected (it starts alone) and is shut down while a command of its takes long, half-way.
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var never = new TaskCompletionSource();
        var first = await bench.StartAsync(
            new ScriptedReactor(holdAt: e => e.Position == StopsAt ? Reached(reached, never.Task) : null),
            new ReactorOptions { CheckpointEvery = 100, CheckpointInterval = TimeSpan.FromHours(1) });
        await reached.Task.WaitAsync(ReactorBench.Patience, TestContext.Current.CancellationToken);
        var second = await bench.StartAsync(new ScriptedReactor(), new ReactorOptions { CheckpointEvery = 100, CheckpointInterval = TimeSpan.FromHours(1) });
        var committedByFirst = bench.Checkpoints.Committed.DefaultIfEmpty(0).Max();
        await first.DisposeAsync(); // a graceful shutdown (a deployment): it still holds the leadership until it has stopped
        await bench.UntilAsync(() => second.Reactor.Handled.Contains(Backlog), "the successor to handle the backlog");

        var (a, b) = (first.Reactor, second.Reactor);
        var twice = a.Handled.Intersect(b.Handled).Order().ToArray();
        BrokenPromises.Report($"the first runner handled {a.HandledCount} events (to {a.Handled.DefaultIfEmpty(0).Max()}), its last commit at {committedByFirst}; the successor handled {b.HandledCount} from {b.Handled.DefaultIfEmpty(0).Min()}; handled by both: {twice.Length} ({(twice.Length == 0 ? "none" : $"{twice[0]} to {twice[^1]}")})");
        var broken = new BrokenPromises();
        broken.Add("events handled by both runners", twice.Length);
        broken.Add("events handled by neither", Enumerable.Range(1, Backlog).Count(p => !a.Handled.Contains(p) && !b.Handled.Contains(p)));
        broken.AssertNone();
    }

    private static Task Reached(TaskCompletionSource reached, Task hold)
    {
        reached.TrySetResult();
        return hold;
    }
}
