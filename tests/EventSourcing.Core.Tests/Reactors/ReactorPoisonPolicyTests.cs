using EventSourcing.Projections;
using EventSourcing.Reactors;

namespace EventSourcing.Core.Tests.Reactors;

/// <summary>
/// An event the reactor fails on every time: tried <see cref="ReactorOptions.MaxAttempts"/> times, then dead-lettered
/// (the reactor goes on) or the reactor stops there until it is replayed, past the event or from it once fixed; never an
/// event handled twice that was not replayed, never the event's data in a log line.
/// </summary>
public sealed class ReactorPoisonPolicyTests
{
    private const string Marker = "MARKER-a1c9e0-the-parcel-label";
    private const int MaxAttempts = 3;
    private static readonly string Name = ReactorRunner.CheckpointName("parcels");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task DeadLetter_tries_the_event_MaxAttempts_times_keeps_a_letter_logs_where_it_is_without_its_data_and_handles_every_other_event_once()
    {
        await using var bench = new ReactorBench();
        var poison = await AppendAroundPoisonAsync(bench);
        var reactor = new ScriptedReactor((e, _) => e.Position == poison ? new InvalidOperationException("The carrier refused the parcel.") : null);
        var runner = await bench.StartAsync(reactor, new ReactorOptions { MaxAttempts = MaxAttempts, OnPoisonEvent = PoisonEventPolicy.DeadLetter });

        await bench.UntilAsync(() => reactor.HandledCount == 5, "the five events around the poison event to be handled");
        var later = new List<long>();
        for (var i = 7; i <= 9; i++)
        {
            later.Add(await bench.SendAsync(i)); // after the letter: the reactor still follows the log
        }

        await bench.UntilAsync(() => reactor.HandledCount == 8, "the events appended after the poison event to be handled");
        var reachedHead = await runner.WaitForAsync(later[^1]);
        await bench.LetTimePassAsync(TimeSpan.FromMinutes(2)); // nothing tries the event again later
        var letters = await bench.Checkpoints.ReadDeadLettersAsync(Name, Ct);
        var status = await runner.ReadStatusAsync();
        var errors = bench.Errors.Where(l => l.Contains($"position {poison}", StringComparison.Ordinal)).ToArray();

        BrokenPromises.Report($"attempts at the poison event {reactor.AttemptsAt(poison)}; handled {string.Join(",", reactor.Handled)}; letters at {string.Join(",", letters.Select(l => l.Position))}; status {status.State}, {status.DeadLetters} letter(s); {bench.Errors.Count} error line(s)");
        var broken = new BrokenPromises();
        broken.Add("attempts at the poison event other than MaxAttempts", Math.Abs(reactor.AttemptsAt(poison) - MaxAttempts));
        broken.Add("the poison event counted as handled", reactor.Handled.Count(p => p == poison));
        broken.Add("other events not handled exactly once", Enumerable.Range(1, 9).Where(p => p != poison).Count(p => reactor.Handled.Count(h => h == p) != 1));
        broken.Add("letters not for the poison event", letters.Count(l => l.Position != poison));
        broken.Add("letters for the poison event, less one", Math.Abs(letters.Count(l => l.Position == poison) - 1));
        broken.Add("letters with the wrong stream or type", letters.Count(l => (l.StreamId, l.EventType, l.Projection) != (ReactorBench.Stream, "parcel-sent.v1", Name)));
        broken.Add("error lines naming the poison event's position, stream and type, less one",
            Math.Abs(errors.Count(l => l.Contains($"'{ReactorBench.Stream}'", StringComparison.Ordinal) && l.Contains("'parcel-sent.v1'", StringComparison.Ordinal)) - 1));
        broken.Add("log lines showing the event's data", bench.Logs.Lines.Count(l => l.Contains(Marker, StringComparison.Ordinal)));
        broken.Add("letters showing the event's data", letters.Count(l => l.Error.Contains(Marker, StringComparison.Ordinal)));
        broken.Add("WaitForAsync(head) false", !reachedHead);
        broken.Add("checkpoint not at the head", (await bench.Checkpoints.ReadStateAsync(Name, Ct)).ServingPosition != later[^1]);
        broken.Add("status not running with one letter", (status.State, status.DeadLetters) != (ReactorStates.Running, 1));
        broken.AssertNone();
    }

    [Fact]
    public async Task Stop_stops_at_the_event_before_it_and_a_replay_past_it_skips_it_and_handles_the_rest_once()
    {
        await using var bench = new ReactorBench();
        var poison = await AppendAroundPoisonAsync(bench);
        var reactor = new ScriptedReactor((e, _) => e.Position == poison ? new InvalidOperationException("The carrier refused the parcel.") : null);
        var runner = await bench.StartAsync(reactor, new ReactorOptions { MaxAttempts = MaxAttempts, OnPoisonEvent = PoisonEventPolicy.Stop });
        var broken = new BrokenPromises();
        var head = await StopsAtThePoisonAsync(bench, runner, poison, broken);

        await runner.Status.ReplayAsync(reactor.Name, poison + 1, Ct);
        await bench.UntilAsync(() => reactor.HandledCount == 7, "the events after the poison event to be handled");
        var reachedHead = await runner.WaitForAsync(head);
        var status = await runner.ReadStatusAsync();

        BrokenPromises.Report($"after the replay from {poison + 1}: handled {string.Join(",", reactor.Handled)}, attempts at the poison {reactor.AttemptsAt(poison)}, status {status.State} at {status.Position}/{status.Head}");
        broken.Add("after the replay: the skipped event tried again", reactor.AttemptsAt(poison) - MaxAttempts);
        broken.Add("after the replay: events before the poison handled again", reactor.Handled.Count(p => p < poison) - (int)(poison - 1));
        broken.Add("after the replay: events after the poison not handled exactly once", Enumerable.Range((int)poison + 1, (int)(head - poison)).Count(p => reactor.Handled.Count(h => h == p) != 1));
        broken.Add("after the replay: WaitForAsync(head) false", !reachedHead);
        broken.Add("after the replay: status not running at the head", (status.State, status.Position) != (ReactorStates.Running, head));
        broken.AssertNone();
    }

    [Fact]
    public async Task Stop_stops_at_the_event_and_a_replay_from_it_once_the_handler_is_fixed_handles_it_and_the_rest_once()
    {
        await using var bench = new ReactorBench();
        var poison = await AppendAroundPoisonAsync(bench);
        var fixedAt = 0; // 1 once the handler is fixed
        var reactor = new ScriptedReactor((e, _) => e.Position == poison && Volatile.Read(ref fixedAt) == 0 ? new InvalidOperationException("The carrier refused the parcel.") : null);
        var runner = await bench.StartAsync(reactor, new ReactorOptions { MaxAttempts = MaxAttempts, OnPoisonEvent = PoisonEventPolicy.Stop });
        var broken = new BrokenPromises();
        var head = await StopsAtThePoisonAsync(bench, runner, poison, broken);

        Volatile.Write(ref fixedAt, 1);
        await runner.Status.ReplayAsync(reactor.Name, poison, Ct);
        await bench.UntilAsync(() => reactor.HandledCount == 8, "the poison event and the events after it to be handled");
        var reachedHead = await runner.WaitForAsync(head);
        var status = await runner.ReadStatusAsync();

        BrokenPromises.Report($"after the replay from {poison}: handled {string.Join(",", reactor.Handled)}, attempts at the poison {reactor.AttemptsAt(poison)}, status {status.State} at {status.Position}/{status.Head}");
        broken.Add("after the replay: the fixed event not handled exactly once", Math.Abs(reactor.Handled.Count(p => p == poison) - 1));
        broken.Add("after the replay: events before the poison handled again", reactor.Handled.Count(p => p < poison) - (int)(poison - 1));
        broken.Add("after the replay: events after the poison not handled exactly once", Enumerable.Range((int)poison + 1, (int)(head - poison)).Count(p => reactor.Handled.Count(h => h == p) != 1));
        broken.Add("after the replay: WaitForAsync(head) false", !reachedHead);
        broken.Add("after the replay: status not running at the head", (status.State, status.Position) != (ReactorStates.Running, head));
        broken.AssertNone();
    }

    [Fact]
    public async Task A_replay_from_before_an_old_dead_letter_deletes_it_so_the_reactor_never_reads_stopped_for_it()
    {
        await using var bench = new ReactorBench();
        var poison = await AppendAroundPoisonAsync(bench);
        var fixedAt = 0; // 1 once the handler is fixed
        var reactor = new ScriptedReactor((e, _) => e.Position == poison && Volatile.Read(ref fixedAt) == 0 ? new InvalidOperationException("The carrier refused the parcel.") : null);
        var runner = await bench.StartAsync(reactor, new ReactorOptions { MaxAttempts = MaxAttempts, OnPoisonEvent = PoisonEventPolicy.Stop });
        var broken = new BrokenPromises();
        var head = await StopsAtThePoisonAsync(bench, runner, poison, broken);
        await runner.Status.ReplayAsync(reactor.Name, poison + 1, Ct); // skip it: its letter stays, behind the checkpoint
        await bench.UntilAsync(() => reactor.HandledCount == 7, "the events after the poison event to be handled");

        Volatile.Write(ref fixedAt, 1);
        await runner.Status.ReplayAsync(reactor.Name, 1, Ct); // everything again, the letter's event included
        var right = await runner.ReadStatusAsync();
        var lettersRight = await bench.Checkpoints.ReadDeadLettersAsync(ReactorRunner.CheckpointName(reactor), Ct);
        await bench.UntilAsync(() => reactor.HandledCount == 7 + (int)head, "every event to be handled again");
        var reachedHead = await runner.WaitForAsync(head); // handled is not yet checkpointed: the status reads the checkpoint
        var after = await runner.ReadStatusAsync();

        BrokenPromises.Report($"after the replay from 1: status {right.State} at once, {after.State} at {after.Position}/{after.Head} once done; letters {lettersRight.Count}");
        broken.Add("right after the replay from 1: status stopped for the old letter", right.State == ReactorStates.Stopped ? 1 : 0);
        broken.Add("right after the replay from 1: letters left at or after position 1", lettersRight.Count);
        broken.Add("once done: WaitForAsync(head) false", !reachedHead);
        broken.Add("once done: status not running at the head", (after.State, after.Position) != (ReactorStates.Running, head));
        broken.AssertNone();
    }

    /// <summary>Parcels 1 to 6 with the 4th (at position 4) the poison one, its label the marker; returns its position.</summary>
    private static async Task<long> AppendAroundPoisonAsync(ReactorBench bench)
    {
        var poison = 0L;
        for (var i = 1; i <= 6; i++)
        {
            var position = await bench.SendAsync(i, i == 4 ? Marker : null);
            poison = i == 4 ? position : poison;
        }

        return poison;
    }

    /// <summary>
    /// Waits for the reactor to stop at <paramref name="poison"/>, lets two minutes pass and appends two more events, then
    /// counts what a stopped reactor must not do. Returns the head.
    /// </summary>
    private static async Task<long> StopsAtThePoisonAsync(ReactorBench bench, ReactorBench.Runner runner, long poison, BrokenPromises broken)
    {
        var reactor = runner.Reactor;
        await bench.UntilAsync(() => runner.Progress.State == ReactorStates.Stopped, "the reactor to stop at the poison event");
        await bench.SendAsync(7);
        var head = await bench.SendAsync(8);
        await bench.LetTimePassAsync(TimeSpan.FromMinutes(2)); // a stopped reactor stays stopped
        var waitedPast = await runner.WaitForAsync(poison, TimeSpan.FromMilliseconds(300));
        var state = await bench.Checkpoints.ReadStateAsync(Name, Ct);
        var status = await runner.ReadStatusAsync();
        var letters = await bench.Checkpoints.ReadDeadLettersAsync(Name, Ct);

        BrokenPromises.Report($"stopped: handled {string.Join(",", reactor.Handled)}, attempts at the poison {reactor.AttemptsAt(poison)}, checkpoint {state.ServingPosition}, status {status.State}, letters at {string.Join(",", letters.Select(l => l.Position))}");
        broken.Add("stopped: attempts at the poison event other than MaxAttempts", Math.Abs(reactor.AttemptsAt(poison) - MaxAttempts));
        broken.Add("stopped: events past the poison event given to the reactor", reactor.Attempts.Keys.Count(p => p > poison));
        broken.Add("stopped: events before it not handled exactly once", Enumerable.Range(1, (int)poison - 1).Count(p => reactor.Handled.Count(h => h == p) != 1));
        broken.Add("stopped: checkpoint not just before the poison event", state.ServingPosition != poison - 1);
        broken.Add("stopped: status not stopped", status.State != ReactorStates.Stopped);
        broken.Add("stopped: WaitForAsync(poison position) true", waitedPast);
        broken.Add("stopped: letters other than one for the poison event", letters.Count != 1 || letters[0].Position != poison ? 1 : 0);
        return head;
    }
}
