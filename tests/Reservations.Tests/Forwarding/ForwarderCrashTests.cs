using EventSourcing.Forwarding;
using EventSourcing.Testing.Nats;
using EventSourcing.Tests.Shared.Nats;
using EventSourcing.Tests.Shared.Postgres;
using Reservations.Tests.Faults;
using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.Forwarding;

/// <summary>
/// The sample as real processes on PostgreSQL, forwarding its log to a throwaway <c>nats-server</c> under load, its
/// forwarder caught in the middle of a page, publishes sent and not acknowledged: the process killed (SIGKILL) and started
/// again, or stopped (SIGSTOP) while the other process takes over, then let run again. Afterwards JetStream holds every
/// event of the log once, each stream in order, and what the fault left unacknowledged was sent again and dropped by
/// JetStream as a duplicate.
/// </summary>
/// <remarks>
/// To be sure the fault lands in the middle of a page, the test holds the forwarder's lock while the load fills the log
/// (every process stands by), then lets it go: the process that takes the forwarder over reads the whole backlog as one
/// page (one read spans up to 5,000 positions) and publishes it pipelined, through a <see cref="NatsRelay"/> that lets
/// its first <see cref="HeldAfter"/> bytes through and holds the rest. A <see cref="PublishTap"/>, a plain subscriber to
/// the forwarded subjects, sees every publish the server gets, re-sends included, and which connection sent it.
/// </remarks>
[Collection(FaultTestsRunAlone.Name)]
public sealed class ForwarderCrashTests(PostgresFixture postgres)
{
    /// <summary>Events in the log when the forwarder is let go: its first page holds at least these.</summary>
    private const int Backlog = 1_000;

    /// <summary>The bytes of the forwarder's connection that reach the server before it is held: a few dozen events of the first page.</summary>
    private const long HeldAfter = 48 * 1024;

    /// <summary>Publishes the other process must make after the resumed one noticed it lost the lead: forwarding goes on there.</summary>
    private const int GoingOn = 50;

    /// <summary>The sample's forwarder publishes at most this many events not acknowledged yet (the transport's default).</summary>
    private static readonly int MaxInFlight = new EventSourcing.Nats.NatsTransportOptions().MaxInFlight;

    /// <summary>How long the resumed process may take to notice that its lock is gone: its keepalive runs every second.</summary>
    private static readonly TimeSpan Noticing = TimeSpan.FromSeconds(10);

    private static readonly string Forwarder = new ForwarderOptions().Name;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 120_000)]
    public async Task Killed_in_the_middle_of_a_page_and_started_again_the_forwarder_leaves_every_event_in_JetStream_once_and_in_order()
    {
        await using var nats = await NatsServer.StartAsync(cancellationToken: Ct);
        await using var relay = NatsRelay.Start(nats.Url);
        var broker = Broker.Fresh();
        var database = await postgres.CreateDatabaseAsync("forwarder-kill", Ct);
        await using var tap = await PublishTap.StartAsync(nats.Url, broker.SubjectPrefix);
        var leadership = new ReactorLeadership(database, Forwarder);
        await using var standingBy = await leadership.HoldAsync("forwarder-crash-tests");
        await using var run = await LoadedSample.StartAsync(database, settings: broker.Settings(relay.Url));
        var load = run.Load;

        await Eventually.Async(run.Log.CountAsync, count => count >= Backlog, $"{Backlog} events in the log", LoadedSample.Patience, TimeSpan.FromMilliseconds(100));
        var held = relay.HoldNextAfter(HeldAfter);
        await standingBy.DisposeAsync();
        var letGo = run.Now;
        await held.WaitAsync(LoadedSample.Patience, Ct);
        var (killed, logAtKill, checkpointAtKill) = (run.Now, 0L, 0L);
        IReadOnlyList<ForwardedEvent> storedAtKill = [];
        var killedConnections = new HashSet<string>();
        await run.KillAndStartAgainAsync(async () =>
        {
            killed = run.Now;
            logAtKill = await run.Log.CountAsync();
            storedAtKill = await JetStreamReader.ReadAllAsync(nats.Url, broker.StreamName, Ct);
            await tap.WhenCountAsync(storedAtKill.Count).WaitAsync(LoadedSample.Patience, Ct);
            killedConnections = tap.Publishes().Select(p => p.Connection).ToHashSet(); // only the killed process has forwarded yet
            checkpointAtKill = await run.Log.CheckpointOfAsync(Forwarder); // read last: the one the restarted forwarder starts from
            relay.Release(); // what the killed process sent past the hold reaches the server, as its socket's last bytes would
        });
        var listening = run.Now;
        await run.WaitForAcknowledgedAsync(40, listening, "after the restart");
        var (sentAgain, verdict) = await run.StopAndCheckAsync();
        var copy = await ForwardedLog.WhenCaughtUpAsync(run.Log, Forwarder, nats.Url, broker.StreamName);

        var publishes = tap.Publishes();
        var sentByKilled = publishes.Count(p => killedConnections.Contains(p.Connection));
        var sentTwice = publishes.GroupBy(p => p.EventId).Where(g => g.Count() > 1).Select(g => g.Key).ToHashSet();
        var toSendAgain = storedAtKill.Where(e => e.Position > checkpointAtKill).ToList();
        var notSentAgain = toSendAgain.Count(e => !sentTwice.Contains(e.EventId));
        LoadFigures.Print("The sample forwarding to NATS, killed (SIGKILL) in the middle of a page and started again", load,
        [
            ("timeline (s): forwarder let go, killed, listening again", $"{LoadFigures.Seconds(letGo)}, {LoadFigures.Seconds(killed)}, {LoadFigures.Seconds(listening)}"),
            ("at the kill: events in the log, stored in JetStream, the forwarder's committed checkpoint", $"{logAtKill}, {storedAtKill.Count}, {checkpointAtKill}"),
            ("publishes by the killed process (its first page: at least)", $"{sentByKilled} ({Backlog})"),
            ("stored at the kill past the checkpoint (to be sent again), sent again, not sent again", $"{toSendAgain.Count}, {toSendAgain.Count - notSentAgain}, {notSentAgain}"),
            ("publishes seen in all, events published more than once", $"{publishes.Count}, {sentTwice.Count}"),
            ("the log against JetStream", copy),
            .. verdict.Figures,
        ]);

        Assert.True(copy.Exact, copy.ToString());
        Assert.True(sentByKilled < Backlog, $"the killed process had published {sentByKilled} events: its first page, of at least {Backlog}, was done before the kill");
        Assert.True(storedAtKill.Count < logAtKill, $"JetStream held all {logAtKill} events of the log at the kill");
        Assert.True(toSendAgain.Count > 0, $"JetStream held no event past the checkpoint ({checkpointAtKill}) at the kill: nothing had to be sent again");
        Assert.True(notSentAgain == 0, $"{notSentAgain} of the {toSendAgain.Count} events stored past the checkpoint at the kill were not sent again after the restart");
        verdict.AssertNothingWrong();
        Assert.All(sentAgain, r => Assert.True(r.Acknowledged, $"a placement sent again after the restart answered {r.Answer}"));
        Assert.False(run.Sample.HasExited, run.Sample.OutputTail);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_forwarding_process_stopped_in_the_middle_of_a_page_is_taken_over_and_once_resumed_leaves_every_event_in_JetStream_once_and_in_order()
    {
        await using var nats = await NatsServer.StartAsync(cancellationToken: Ct);
        await using var relay = NatsRelay.Start(nats.Url);
        var broker = Broker.Fresh();
        var database = await postgres.CreateDatabaseAsync("forwarder-stall", Ct);
        await using var tap = await PublishTap.StartAsync(nats.Url, broker.SubjectPrefix);
        var leadership = new ReactorLeadership(database, Forwarder);
        await using var standingBy = await leadership.HoldAsync("forwarder-crash-tests");
        await using var run = await LoadedSample.StartAsync(database, processes: 2, settings: broker.Settings(relay.Url));
        var load = run.Load;

        await Eventually.Async(run.Log.CountAsync, count => count >= Backlog, $"{Backlog} events in the log", LoadedSample.Patience, TimeSpan.FromMilliseconds(100));
        var held = relay.HoldNextAfter(HeldAfter);
        await standingBy.DisposeAsync();
        var holder = await Eventually.Async(leadership.HolderAsync, h => run.NodeOf(h) is not null, "a process to run the forwarder", LoadedSample.Patience, TimeSpan.FromMilliseconds(20));
        var stalled = run.NodeOf(holder)!;
        var other = run.Nodes.Single(n => n != stalled);
        await held.WaitAsync(LoadedSample.Patience, Ct);
        await stalled.PauseAsync();
        var pausing = run.Now;
        var logAtPause = await run.Log.CountAsync();
        var storedAtPause = await JetStreamReader.CountAsync(nats.Url, broker.StreamName, Ct);
        await tap.WhenCountAsync((int)storedAtPause).WaitAsync(LoadedSample.Patience, Ct);
        var stalledConnections = tap.Publishes().Select(p => p.Connection).ToHashSet(); // only the stopped process has forwarded yet

        // While it is stopped: its lock's session is ended (idle), the other takes the forwarder over, fences it, and
        // forwards from the checkpoint, while what the stopped process had sent past the hold reaches the server.
        var takeover = await ReactorTakeover.TimedAsync(run, pausing, 3 * ReactorTakeover.Bound, async () => (await leadership.HolderAsync())?.Node == other.Name);
        relay.Release();
        var forwarded = await ReactorTakeover.TimedAsync(run, pausing, LoadedSample.Patience, async () => await JetStreamReader.CountAsync(nats.Url, broker.StreamName, Ct) >= logAtPause);
        var beforeResume = tap.Publishes();
        var otherConnections = beforeResume.Select(p => p.Connection).Where(c => !stalledConnections.Contains(c)).ToHashSet();
        var sentByStalled = beforeResume.Count(p => stalledConnections.Contains(p.Connection));

        // Let run again: it goes on with the page it had in hand until it notices that its lock is gone, then stands by.
        var mark = stalled.Process.LinesWritten;
        var resuming = run.Now;
        await stalled.ResumeAsync();
        var noticed = await stalled.Process.WaitForOutputAsync($"Reactor {Forwarder} lost its leadership", mark, Noticing, Ct);
        var noticedAfter = run.Now - resuming;
        var atNotice = tap.Count;
        await run.WaitForAcknowledgedAsync(40, run.Now, "after the resume");
        var (sentAgain, verdict) = await run.StopAndCheckAsync();
        var copy = await ForwardedLog.WhenCaughtUpAsync(run.Log, Forwarder, nats.Url, broker.StreamName);
        var holderAfter = await leadership.HolderAsync();

        var publishes = tap.Publishes();
        var byStalledOnResume = publishes.Skip(beforeResume.Count).Take(atNotice - beforeResume.Count).Count(p => !otherConnections.Contains(p.Connection));
        var afterNotice = publishes.Skip(atNotice).ToList();
        var byStalledAfterNotice = afterNotice.Count(p => stalledConnections.Contains(p.Connection));
        var byNewAfterNotice = afterNotice.Count(p => !stalledConnections.Contains(p.Connection) && !otherConnections.Contains(p.Connection));
        LoadFigures.Print("Two processes forwarding to NATS, the one forwarding stopped (SIGSTOP) in the middle of a page, taken over, let run again", load,
        [
            ("the forwarder ran on", $"process {stalled.Index} of 2, stopped at {LoadFigures.Seconds(pausing)} s with {logAtPause} events in the log, {storedAtPause} in JetStream"),
            ("publishes by the stopped process, sent before it stopped (its first page: at least)", $"{sentByStalled} ({Backlog})"),
            ("the other held the forwarder's lock, JetStream held the log as at the stop, after", $"{Takeover.Show(takeover)}, {Takeover.Show(forwarded)}"),
            ("publishes by the other while the first was stopped (its connections)", $"{beforeResume.Count - sentByStalled} ({otherConnections.Count})"),
            ("let run again: noticed the lost lead after", noticed is null ? $"not within {LoadFigures.Seconds(Noticing)} s" : Takeover.Show(noticedAfter)),
            ("publishes by the resumed process before it noticed (its page in hand)", byStalledOnResume),
            ("publishes seen after it noticed: on its connection (sent before the notice, in flight), by the other, on new connections", $"{byStalledAfterNotice}, {afterNotice.Count(p => otherConnections.Contains(p.Connection))}, {byNewAfterNotice}"),
            ("the forwarder's lock at the end held by", holderAfter?.Node == other.Name ? "the other process" : holderAfter?.Node ?? "nobody"),
            ("the log against JetStream", copy),
            .. verdict.Figures,
        ]);

        Assert.True(copy.Exact, copy.ToString());
        Assert.True(sentByStalled < Backlog, $"the stopped process had published {sentByStalled} events: its first page, of at least {Backlog}, was done before the stop");
        Assert.NotNull(takeover);
        Assert.NotNull(forwarded);
        Assert.NotNull(noticed);
        Assert.True(afterNotice.Count(p => otherConnections.Contains(p.Connection)) >= GoingOn, "the other forwarded too little after the resumed process noticed it lost the lead");

        // Once it noticed, the resumed process sends nothing more: what still reaches the server from it was written
        // before, and is not acknowledged yet, so at most MaxInFlight publishes (all of them copies JetStream drops).
        Assert.True(byStalledAfterNotice <= MaxInFlight, $"{byStalledAfterNotice} publishes of the resumed process reached the server after it noticed it lost the lead: more than the {MaxInFlight} it may have in flight");
        var forwardedBeforeResume = beforeResume.Select(p => p.EventId).ToHashSet();
        Assert.True(afterNotice.Where(p => stalledConnections.Contains(p.Connection)).All(p => forwardedBeforeResume.Contains(p.EventId)), "the resumed process published, after it noticed it lost the lead, an event the other had not forwarded yet");
        Assert.True(byNewAfterNotice == 0, $"{byNewAfterNotice} publishes after the resumed process noticed it lost the lead came from a new connection (the resumed process started publishing again, or the other lost its connection):{Environment.NewLine}the resumed process's forwarder lines:{Environment.NewLine}{ForwarderLines(stalled)}{Environment.NewLine}the other's:{Environment.NewLine}{ForwarderLines(other)}");
        Assert.Equal(other.Name, holderAfter?.Node);
        verdict.AssertNothingWrong();
        Assert.All(sentAgain, r => Assert.True(r.Acknowledged, $"a placement sent again after the stop answered {r.Answer}"));
        Assert.False(other.Process.HasExited, other.Process.OutputTail);
        Assert.False(stalled.Process.HasExited, stalled.Process.OutputTail);
    }

    /// <summary>What a sample process last wrote of its forwarder and its NATS connections, for a failure message.</summary>
    private static string ForwarderLines(SampleNode node) =>
        string.Join(Environment.NewLine, node.Process.OutputTail.Split(Environment.NewLine).Where(l => l.Contains("orward", StringComparison.Ordinal) || l.Contains("NATS", StringComparison.OrdinalIgnoreCase) || l.Contains("leadership", StringComparison.Ordinal)).TakeLast(30));

    /// <summary>A JetStream stream and subjects of the test's own.</summary>
    private sealed record Broker(string StreamName, string SubjectPrefix)
    {
        public static Broker Fresh()
        {
            var id = Guid.NewGuid().ToString("N")[..12];
            return new Broker($"RESERVATIONS_{id}", $"reservations-{id}");
        }

        /// <summary>The sample's settings to forward to this stream through the server (or relay) at <paramref name="url"/>.</summary>
        public Dictionary<string, string?> Settings(string url) => new Dictionary<string, string?>
        {
            ["Nats:Url"] = url,
            ["Nats:StreamName"] = StreamName,
            ["Nats:SubjectPrefix"] = SubjectPrefix,
        };
    }
}
