using EventSourcing.Reactors;

namespace EventSourcing.Core.Tests.Reactors;

/// <summary>
/// Checkpoints committed in batches (every <see cref="ReactorOptions.CheckpointEvery"/> handled events, after
/// <see cref="ReactorOptions.CheckpointInterval"/>, or caught up), counted as commits of the projection store: about one
/// per batch, not one per event; events of types the reactor does not handle are never given to it and cost no commit of
/// their own, and the checkpoint still reaches the head.
/// </summary>
public sealed class ReactorCheckpointBatchingTests
{
    private const int Events = 1_000;
    private const int MaxCommits = 20;
    private static readonly ReactorOptions Batching = new() { CheckpointEvery = 100, CheckpointInterval = TimeSpan.FromHours(1) };

    [Fact]
    public async Task A_thousand_events_handled_in_batches_of_a_hundred_cost_about_ten_commits()
    {
        await using var bench = new ReactorBench();
        for (var i = 1; i <= Events; i++)
        {
            await bench.SendAsync(i);
        }

        var reactor = new ScriptedReactor();
        var runner = await bench.StartAsync(reactor, Batching);
        var reachedHead = await runner.WaitForAsync(Events);

        BrokenPromises.Report($"{reactor.HandledCount} events handled, {bench.Checkpoints.Commits} commits, at {string.Join(",", bench.Checkpoints.Committed)}");
        var broken = new BrokenPromises();
        broken.Add($"commits beyond {MaxCommits}", Math.Max(0, bench.Checkpoints.Commits - MaxCommits));
        broken.Add("events not handled exactly once", Events - reactor.Handled.Distinct().Count() + (reactor.HandledCount - Events));
        broken.Add("WaitForAsync(head) false", !reachedHead);
        broken.AssertNone();
    }

    [Fact]
    public async Task Over_a_log_nine_tenths_of_other_types_the_reactor_is_given_only_its_own_commits_per_batch_and_reaches_the_head()
    {
        await using var bench = new ReactorBench();
        var random = new Random(20301);
        var (own, head) = (0, 0L);
        for (var i = 1; i <= Events * 10; i++)
        {
            // A tenth of the events are parcels sent, at random places; the last one is of another type.
            var sent = i < Events * 10 && own < Events && (random.Next(10) == 0 || Events - own >= Events * 10 - i);
            head = sent ? await bench.SendAsync(++own) : await bench.ScanAsync(i);
        }

        var reactor = new ScriptedReactor(eventTypes: [typeof(ParcelSent)]);
        var runner = await bench.StartAsync(reactor, Batching);
        var reachedHead = await bench.WaitMovingTimeAsync(runner, head); // the last events are of another type: their position may wait for the interval
        var state = await bench.Checkpoints.ReadStateAsync(ReactorRunner.CheckpointName(reactor), TestContext.Current.CancellationToken);

        BrokenPromises.Report($"{head} events in the log, {own} of the reactor's type; {reactor.HandledCount} handled, {bench.Checkpoints.Commits} commits, at {string.Join(",", bench.Checkpoints.Committed)}");
        var broken = new BrokenPromises();
        broken.Add("events of other types given to the reactor", reactor.Given.Count(t => t != "parcel-sent.v1"));
        broken.Add("its own events not handled exactly once", Math.Abs(reactor.HandledCount - own) + (own - reactor.Handled.Distinct().Count()));
        broken.Add($"commits beyond {MaxCommits}", Math.Max(0, bench.Checkpoints.Commits - MaxCommits));
        broken.Add("WaitForAsync(head) false", !reachedHead);
        broken.Add("checkpoint not at the head", state.ServingPosition != head);
        broken.AssertNone();
    }

    [Fact]
    public async Task Live_appends_of_other_types_cost_no_commit_of_their_own_and_the_checkpoint_still_reaches_the_head_within_the_interval()
    {
        await using var bench = new ReactorBench();
        var reactor = new ScriptedReactor(eventTypes: [typeof(ParcelSent)]);
        var runner = await bench.StartAsync(reactor, Batching);
        var patience = ReactorBench.Patience;
        var ct = TestContext.Current.CancellationToken;

        // One event at a time, each read by the caught-up reactor before the next: a live log, nine events in ten of another type.
        var last = 0L;
        for (var i = 1; i <= Events; i++)
        {
            last = i % 10 == 0 ? await bench.SendAsync(i) : await bench.ScanAsync(i);
            await bench.Reader.ReadThroughAsync(last, patience, ct);
        }

        var reachedLast = await runner.WaitForAsync(last);
        var committed = bench.Checkpoints.Committed;
        var foreignOnly = CommitsWithoutHandledEvents(committed, reactor.Handled);
        // Then one of another type at the head, and the interval passes: its position must be committed by then.
        var head = await bench.ScanAsync(Events + 1);
        await bench.Reader.ReadThroughAsync(head, patience, ct);
        var reachedHead = false;
        for (var interval = 1; interval <= 3 && !reachedHead; interval++)
        {
            bench.Time.Advance(Batching.CheckpointInterval);
            reachedHead = await runner.WaitForAsync(head, TimeSpan.FromMilliseconds(500));
        }

        BrokenPromises.Report($"{Events} events appended live, {Events / 10} of the reactor's type: {reactor.HandledCount} handled, {committed.Count} commits, {foreignOnly} of them with no event of its type handled since the one before");
        var broken = new BrokenPromises();
        broken.Add("events of other types given to the reactor", reactor.Given.Count(t => t != "parcel-sent.v1"));
        broken.Add("commits caused by events of other types alone", foreignOnly);
        broken.Add("WaitForAsync(last of its type) false", !reachedLast);
        broken.Add("WaitForAsync(head, an event of another type) false once the interval passed (three times)", !reachedHead);
        broken.AssertNone();
    }

    /// <summary>How many commits moved the checkpoint over no handled event (from the previous commit's checkpoint).</summary>
    private static int CommitsWithoutHandledEvents(IReadOnlyList<long> committed, IReadOnlyList<long> handled)
    {
        var (count, previous) = (0, 0L);
        foreach (var checkpoint in committed)
        {
            count += handled.Any(p => p > previous && p <= checkpoint) ? 0 : 1;
            previous = checkpoint;
        }

        return count;
    }
}
