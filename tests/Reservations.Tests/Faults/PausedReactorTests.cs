using EventSourcing.Tests.Shared.Postgres;
using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.Faults;

/// <summary>
/// Two processes of the sample on one database under load with cancellations, the reactor running in one of them: that
/// one paused (SIGSTOP, as a long GC pause or a VM migration) while the load goes on against the other. The paused
/// process's lock connection sits idle; the server ends it (idle_session_timeout), the other takes over within
/// <see cref="PausedBound"/>, ends the paused process's sessions (whatever transaction it left open, and its lead of the
/// projection daemon), decides what is placed meanwhile and the views move on. The paused process is then let run again
/// (whatever reaction it was in the middle of completes late) and killed right after it notices it lost the lead: no
/// seat is held for a reservation that is not confirmed, every reservation is decided once, nothing is lost.
/// </summary>
/// <remarks>
/// Where the pause lands matters, so it is chosen (<see cref="PauseMoment"/>): between two transactions (the process is
/// paused and let run again until none of its sessions is in one), or inside the commit of its reactor's checkpoint, the
/// statement run and the transaction not committed yet (the row held locked by the test until the commit waits on it; a
/// pause at random lands in one of the process's commits about a third of the time under this load).
/// </remarks>
[Collection(FaultTestsRunAlone.Name)]
public sealed class PausedReactorTests(PostgresFixture postgres)
{
    /// <summary>
    /// The longest a takeover from a paused process may take, from the design: its lock connection is ended by the server
    /// once idle for 3 s (idle_session_timeout, set by the election; a live leader touches it every second), the other
    /// tries every second and fences it, then takes a new reservation through its two hops; 3 s of slack for this machine.
    /// </summary>
    private static readonly TimeSpan PausedBound = TimeSpan.FromSeconds(7);

    /// <summary>How long the takeover is waited for: past the bound, to measure a slow one; the paused process is let run again after it.</summary>
    private static readonly TimeSpan TakeoverPatience = 3 * ReactorTakeover.Bound;

    /// <summary>How long the resumed process may take to notice that its lock is gone: its keepalive runs every second.</summary>
    private static readonly TimeSpan Noticing = TimeSpan.FromSeconds(10);

    /// <summary>How many pauses may be tried for a moment between transactions (a few are, under this load).</summary>
    private const int MaxTrials = 100;

    public enum PauseMoment
    {
        /// <summary>Every session of the process idle, outside any transaction.</summary>
        BetweenTransactions,

        /// <summary>The process's transaction committing its reactor's checkpoint open: the checkpoint's row locked.</summary>
        InCheckpointCommit,
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory(Timeout = 240_000)]
    [InlineData(PauseMoment.BetweenTransactions)]
    [InlineData(PauseMoment.InCheckpointCommit)]
    public async Task A_paused_process_loses_the_reactor_within_the_bound_the_other_takes_over_and_its_late_reaction_spoils_nothing(PauseMoment moment)
    {
        await using var run = await LoadedSample.StartAsync(await postgres.CreateDatabaseAsync("paused", Ct), processes: 2, cancelEvery: 3);
        var load = run.Load;

        await run.WaitForAcknowledgedAsync(80, TimeSpan.Zero, "before the pause");
        var leader = await run.WaitForLeaderAsync();
        var other = run.Nodes.Single(n => n != leader);
        var lockBackend = (await run.Leadership.HolderAsync())!;
        var (trials, sessionsAtPause) = await PauseAtAsync(run, leader, moment);
        var pausing = run.Now;

        // While it is paused: its lock connection sits idle, the server ends it, and the other takes over, fencing it.
        var takeover = await ReactorTakeover.MeasureAsync(run, other, pausing, TakeoverPatience);
        var holderWhilePaused = await run.Leadership.HolderAsync();
        var acknowledgedWhilePaused = load.Outcomes.Count(o => o.Kind == Outcome.Place && o.Acknowledged && o.Sent >= pausing);
        var blocked = await run.Backends.BlockedAsync();
        var openAfterTakeover = await run.Backends.IdleInTransactionAsync();
        var pausedSessionsLeft = (await run.Backends.OfProcessAsync(leader.Process.Id)).Count;
        var forcing = run.Now;
        await run.WaitForAcknowledgedAsync(10, forcing, "after the takeover");
        var latest = load.Acknowledged.Values.Where(p => !load.Cancellations.ContainsKey(p.Id)).MaxBy(p => p.Position)!;
        var latestDecided = await ReactorTakeover.TimedAsync(run, run.Now, ReactorTakeover.Bound, async () => await run.Log.StatusOfAsync(latest.Id) is "confirmed" or "rejected");
        var viewsWhilePaused = await Eventually.WithinAsync(async () => (await run.ProjectionsAsync()).All(p => p.Position >= latest.Position), ReactorTakeover.Bound, TimeSpan.FromMilliseconds(100));

        // The paused process runs again, finishes whatever it was doing, notices the lost lock, and is killed.
        var mark = leader.Process.LinesWritten;
        var resuming = run.Now;
        await leader.ResumeAsync();
        var noticed = await leader.Process.WaitForOutputAsync("lost its leadership", mark, Noticing, Ct);
        var noticing = run.Now - resuming;
        var late = leader.Process.OutputSince(mark);
        await leader.KillAsync();
        var killed = run.Now;
        var holderAfter = await run.Leadership.HolderAsync();
        var headAtKill = (await run.Log.ReactorProgressAsync()).Head;
        await Eventually.Async(run.ProjectionsAsync, ps => ps.All(p => p.Position >= headAtKill), $"the views to pass position {headAtKill}", LoadedSample.Patience, TimeSpan.FromMilliseconds(100));
        var viewsMoving = run.Now - killed;
        await run.WaitForAcknowledgedAsync(20, killed, "after the kill");
        var (sentAgain, verdict) = await run.StopAndCheckAsync();
        var decisions = await run.Log.DecisionsAsync();

        var outcomes = load.Outcomes.ToList();
        LoadFigures.Print($"Two processes under load with cancellations, the one running the reactor paused (SIGSTOP, {moment}), taken over while paused, resumed and killed", load,
        [
            ("the reactor ran on", $"process {leader.Index} of 2, lock on backend {lockBackend.Backend} (client port {lockBackend.ClientPort}); paused at {LoadFigures.Seconds(pausing)} s"),
            ($"paused {moment} after trials", trials),
            ("the paused process's sessions", string.Join("; ", sessionsAtPause.GroupBy(b => b.State).Select(g => $"{g.Key} ×{g.Count()}"))),
            ("while paused: the other took over (lock held, a reservation placed on it decided)", $"{takeover.Describe()}; lock held by {(holderWhilePaused?.Node == other.Name ? "the other process" : holderWhilePaused?.Node ?? "nobody")}"),
            ("while paused: took over within", $"{Takeover.Show(takeover.Total)} of the pause (bound {LoadFigures.Milliseconds(PausedBound)} ms)"),
            ("while paused: placements acknowledged by the other", acknowledgedWhilePaused),
            ("while paused: the paused process's sessions left after the fencing", pausedSessionsLeft),
            ("while paused: sessions waiting on a lock", Listed(blocked)),
            ("while paused: transactions left open a second or more", Listed(openAfterTakeover)),
            ("while paused: the last reservation acknowledged decided after", Takeover.Show(latestDecided)),
            ("while paused: the views reached it (the projection daemon moved too)", viewsWhilePaused),
            ("resumed: noticed the lost lead after", noticed is null ? $"not within {LoadFigures.Seconds(Noticing)} s" : Takeover.Show(noticing)),
            ("resumed: its commands found applied already, conflicts, errors (before the kill)", $"{late.Count(l => l.Contains("is already applied", StringComparison.Ordinal))}, {late.Count(l => l.Contains("Conflict on stream", StringComparison.Ordinal))}, {late.Count(l => l.StartsWith("fail:", StringComparison.Ordinal))}"),
            ("resumed: its reactor's lines", string.Join(" | ", late.Where(l => l.Contains("reservation-confirmation", StringComparison.Ordinal)).Select(l => l.Trim()))),
            ("after the kill, lock held by", holderAfter?.Node == other.Name ? "the other process" : holderAfter?.Node ?? "nobody"),
            ("views moving again after the kill (the projection daemon's takeover, ms)", LoadFigures.Milliseconds(viewsMoving)),
            ("reads answered 404 after waiting for the view (atLeast)", outcomes.Count(o => o.Status == 404)),
            ("requests to the paused process unanswered or late", outcomes.Count(o => o.Status is null)),
            .. verdict.Figures,
        ]);

        Assert.NotNull(noticed);
        Assert.Equal(other.Name, holderAfter?.Node);
        verdict.AssertNothingWrong();
        Assert.True(verdict.CancelledTentative > 0, "no reservation was cancelled while tentative");
        foreach (var id in new[] { takeover.Probe })
        {
            var d = decisions.GetValueOrDefault(id) ?? new Decisions();
            Assert.True((d.Held + d.Refused, d.Confirmed + d.Rejected) == (1, 1), $"probe {id}: held {d.Held}, refused {d.Refused}, confirmed {d.Confirmed}, rejected {d.Rejected}");
        }

        Assert.All(sentAgain, r => Assert.True(r.Acknowledged, $"a placement sent again after the pause answered {r.Answer}"));
        Assert.Empty(load.Unacknowledged);
        Assert.DoesNotContain(outcomes, o => o.Status is >= 500 and not 503);
        Assert.False(other.Process.HasExited, other.Process.OutputTail);
        Assert.True(
            takeover.Within(PausedBound) && latestDecided is not null,
            $"with the process running the reactor paused, the other took over: {takeover.Describe()}; a reservation acknowledged after it decided: {Takeover.Show(latestDecided)} (bound {PausedBound}). " +
            $"Sessions waiting on a lock: {Listed(blocked)}. Transactions left open: {Listed(openAfterTakeover)}");
        Assert.True(viewsWhilePaused, "while the process leading the projection daemon was paused, the views did not move");
    }

    /// <summary>
    /// Pauses <paramref name="leader"/> (SIGSTOP) at the <paramref name="moment"/> wanted, takes it out of rotation, and
    /// returns how many pauses that took and its sessions once the server has finished what it was running for it.
    /// </summary>
    private static Task<(int Trials, IReadOnlyList<Backend> Sessions)> PauseAtAsync(LoadedSample run, SampleNode leader, PauseMoment moment) =>
        moment == PauseMoment.BetweenTransactions ? PauseBetweenTransactionsAsync(run, leader) : PauseInCheckpointCommitAsync(run, leader);

    /// <summary>Pauses it, and lets it run again until a reactor commit later, until none of its sessions is in a transaction.</summary>
    private static async Task<(int Trials, IReadOnlyList<Backend> Sessions)> PauseBetweenTransactionsAsync(LoadedSample run, SampleNode leader)
    {
        for (var trial = 1; trial <= MaxTrials; trial++)
        {
            var checkpoint = (await run.Log.ReactorProgressAsync()).Checkpoint;
            await leader.Process.PauseAsync(Ct);
            var sessions = await SettledAsync(run, leader);
            if (sessions is not null && sessions.All(b => !b.InTransaction))
            {
                leader.InRotation = false;
                return (trial, sessions);
            }

            await leader.Process.ResumeAsync(Ct);
            await Eventually.WithinAsync(async () => (await run.Log.ReactorProgressAsync()).Checkpoint > checkpoint, TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(5));
        }

        Assert.Fail($"{leader} was never paused between transactions in {MaxTrials} trials");
        return default;
    }

    /// <summary>
    /// Holds the reactor's checkpoint row locked until its next checkpoint commit waits on it, pauses it, then lets the row
    /// go: the server completes its upsert, and its transaction stays open with the row locked, as if the pause had come
    /// just before the commit.
    /// </summary>
    private static async Task<(int Trials, IReadOnlyList<Backend> Sessions)> PauseInCheckpointCommitAsync(LoadedSample run, SampleNode leader)
    {
        await using (var held = await run.Backends.HoldReactorCheckpointsAsync())
        {
            await Eventually.Async(
                async () => (await run.Backends.OfProcessAsync(leader.Process.Id)).Select(b => b.Pid).Intersect(await run.Backends.WaitingOnAsync(held.Holder)).Any(),
                waiting => waiting,
                $"{leader} to wait inside its checkpoint commit",
                LoadedSample.Patience,
                TimeSpan.FromMilliseconds(10));
            await leader.Process.PauseAsync(Ct);
        }

        leader.InRotation = false;
        var sessions = await SettledAsync(run, leader);
        Assert.True(sessions?.Any(b => b.InTransaction) == true, $"{leader} was paused outside a transaction: {string.Join("; ", sessions ?? [])}");
        return (1, sessions!);
    }

    /// <summary>The paused process's sessions once the server has run what it had been sent (none active), or null when some stays active.</summary>
    private static async Task<IReadOnlyList<Backend>?> SettledAsync(LoadedSample run, SampleNode leader)
    {
        IReadOnlyList<Backend> sessions = [];
        return await Eventually.WithinAsync(async () => (sessions = await run.Backends.OfProcessAsync(leader.Process.Id)).All(b => b.State != "active"), TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(10))
            ? sessions
            : null;
    }

    private static string Listed(IReadOnlyList<string> items) => items.Count == 0 ? "none" : string.Join("; ", items);
}
