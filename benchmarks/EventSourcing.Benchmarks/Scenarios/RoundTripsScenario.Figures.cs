using EventSourcing.Benchmarks.Harness;

namespace EventSourcing.Benchmarks.Scenarios;

public static partial class RoundTripsScenario
{
    private const int TopStatements = 30;

    private static void Report(ScenarioReport report, Sizes sizes, CountedRun idle, CountedRun busy, string observerRole, IReadOnlyList<ReactorRun> rounds, ViewsCheck views)
    {
        var n = (double)Math.Max(1, busy.Accepted);
        var scale = busy.Counts.At / idle.Counts.At; // the idle run, stretched to the length of the placements run
        var idleSide = Side.Of(idle, observerRole);
        var busySide = Side.Of(busy, observerRole);
        double Net(long measured, long idleCount) => measured - (idleCount * scale);
        var resets = Net(busySide.Resets, idleSide.Resets);
        var others = Net(busySide.Others, idleSide.Others);
        var transactions = Net(busySide.Transactions, idleSide.Transactions);
        var reactor = rounds.OrderBy(r => r.DecisionsPerSecond).ElementAt(rounds.Count / 2); // the median round

        report.Add(new ResultRow("statements per placement (a pooled-connection reset counted once)", busy.Accepted, (others + resets) / n, "statements"));
        report.Add(new ResultRow("  of which pooled-connection resets", busy.Accepted, resets / n, "resets"));
        report.Add(new ResultRow("  statements other than resets", busy.Accepted, others / n, "statements"));
        report.Add(new ResultRow("transactions per placement", busy.Accepted, transactions / n, "transactions"));
        report.Add(new ResultRow("  transactions other than resets (a reset is a transaction of its own)", busy.Accepted, (transactions - resets) / n, "transactions"));
        report.Add(new ResultRow($"reactor: reservations decided/s, a held-back backlog of {reactor.Backlog:N0}, from release to the last (median of {rounds.Count})", reactor.Backlog, reactor.DecisionsPerSecond, "decisions/s"));
        report.Add(new ResultRow("reactor: the same round, middle 80% of the backlog", reactor.Backlog, reactor.MiddleDecisionsPerSecond, "decisions/s"));
        report.Add(new ResultRow("reactor: the same round, log events passed/s until at the head (the placements, then its own seats-held and confirmed)", reactor.Samples[^1].Progress.Reactor - reactor.Held.Reactor, reactor.EventsPerSecond, "events/s"));
        for (var round = 0; round < rounds.Count; round++)
        {
            report.Add(new ResultRow($"reactor round {round + 1}: decided/s from release to the last", rounds[round].Backlog, rounds[round].DecisionsPerSecond, "decisions/s"));
            report.Add(new ResultRow($"reactor round {round + 1}: middle 80%", rounds[round].Backlog, rounds[round].MiddleDecisionsPerSecond, "decisions/s"));
            report.Add(new ResultRow($"reactor round {round + 1}: burst placed while held back, 16 clients", rounds[round].Placed.Requests, rounds[round].Placed.Rate, "requests/s"));
        }

        report.Add(new ResultRow($"placements, one every {sizes.Interval.TotalMilliseconds:0} ms", busy.Accepted, busy.Placements?.Rate ?? 0, "requests/s"));
        report.Add(new ResultRow("placements: decided and in the views, from the first placement", busy.Accepted, busy.Busy.TotalSeconds, "s"));
        foreach (var (name, run, side) in new[] { ("placements run", busy, busySide), ("idle run", idle, idleSide) })
        {
            report.Add(new ResultRow($"{name}, {run.Counts.At.TotalSeconds:0.0} s: statements (a reset as its 7)", run.Accepted, side.Raw, "statements"));
            report.Add(new ResultRow($"{name}: statements other than resets", run.Accepted, side.Others, "statements"));
            report.Add(new ResultRow($"{name}: resets", run.Accepted, side.Resets, "resets"));
            report.Add(new ResultRow($"{name}: transactions (the observer's left out)", run.Accepted, side.Transactions, "transactions"));
            report.Add(new ResultRow($"{name}: of which rolled back", run.Accepted, run.Counts.Rollbacks, "transactions"));
            report.Add(new ResultRow($"{name}: sessions started (the sample's, and the observer's)", run.Accepted, run.Counts.Sessions, "sessions"));
            report.Add(new ResultRow($"{name}: the observer's looks, left out", run.Accepted, side.Observer, "statements"));
        }

        report.Add(new ResultRow("idle run scaled by", 0, scale, "x"));
        var idleCalls = idleSide.Statements.ToDictionary(s => (s.User, s.QueryId), s => s.Calls);
        var top = Grouped(busySide.Statements)
            .Select(s => (Statement: s, PerPlacement: (s.Calls - (idleCalls.GetValueOrDefault((s.User, s.QueryId)) * scale)) / n))
            .OrderByDescending(s => s.PerPlacement)
            .ThenBy(s => s.Statement.Query, StringComparer.Ordinal)
            .Take(TopStatements);
        var rank = 0;
        foreach (var (statement, perPlacement) in top)
        {
            report.Add(new ResultRow($"top {++rank}: {StatementCounter.Shorten(statement.Query)}", statement.Calls, perPlacement, "calls/placement"));
        }

        var resetParts = busySide.Statements.Where(s => StatementCounter.ResetStatements.Contains(s.Query, StringComparer.Ordinal)).Select(s => s.Calls).Distinct().ToArray();
        report.Check("every placement accepted (202) and decided", $"{busy.Accepted} of {sizes.Placements} accepted, {busy.Decided} decided", busy.Accepted == sizes.Placements && busy.Decided == busy.Accepted);
        report.Check("the observer's looks counted as made (so they are left out exactly)", $"{busySide.Observer} + {idleSide.Observer} counted, {busy.Looks} + {idle.Looks} made", busySide.Observer == busy.Looks && idleSide.Observer == idle.Looks);
        report.Check("the 7 statements of a reset counted alike", string.Join(", ", resetParts), resetParts.Length <= 1);
        report.Check("the two counted runs about as long (within 10%)", $"{busy.Counts.At.TotalSeconds:0.0} s and {idle.Counts.At.TotalSeconds:0.0} s", Math.Abs(scale - 1) <= 0.1);
        report.Check("views caught up, no dead letters (GET /admin/projections)", views.Summary, views.Clean);
        report.Notes.Add($"sample built {SampleApp.Configuration}, its own process, Development environment, write rate limit off, on a server loading {BenchmarkContext.StatementStatistics}; started three times on one database: the reactor run, then the idle run, then the placements run");
        report.Notes.Add($"counts: pg_stat_statements (sum of calls in the sample's database, reset before the idle run) and pg_stat_database (xact_commit + xact_rollback), read in the administrative database before the sample starts and after every session of it has ended (a server process reports its transactions at most once a second while busy, up to 10 s after going idle, and at once as it ends: a window with the sample running at either end would miss some and count others from before)");
        report.Notes.Add($"the idle and placements runs are alike: start, {sizes.CountedWarmUp} placements at the pace to warm up, wait until they are decided, then {sizes.Placements} x {sizes.Interval.TotalMilliseconds:0} ms + {sizes.Slack.TotalSeconds:0.0} s idle in the idle run ({(idle.Running - idle.BeforeStart).TotalSeconds:0.0} s from start to stop); in the placements run {sizes.Placements} reservations placed one at a time, one every {sizes.Interval.TotalMilliseconds:0} ms (the same pace on any machine, so that before and after compare), each a new guest and Idempotency-Key, until every one is decided and both views are at the head of the log, then idle until it has run as long as the idle run ({(busy.Running - busy.BeforeStart).TotalSeconds:0.0} s); per placement = (placements run - idle run x {scale:0.000}, the ratio of their counted times) / {busy.Accepted}, per statement in the top list too");
        report.Notes.Add("a pooled-connection reset is what Npgsql sends before the next command on a connection taken from the pool (with prepared statements: SET SESSION AUTHORIZATION DEFAULT; RESET ALL; CLOSE ALL; UNLISTEN *; SELECT pg_advisory_unlock_all(); DISCARD SEQUENCES; DISCARD TEMP, one message and one transaction; without: DISCARD ALL); pg_stat_statements counts its 7 statements, here counted once");
        report.Notes.Add("transactions are PostgreSQL's own count: a statement outside a transaction block is one, a block is one, a reset is one, and so is every wake-up of a LISTENing session by a NOTIFY (it reads the queue in a transaction of its own, which pg_stat_statements does not see; the sample keeps three such sessions: its append signal, Marten's high-water agent and its forget listener, whose heartbeat notifies 4 times a second)");
        report.Notes.Add($"the observer that waits for the reactor and the views looks every 50 ms with one statement (its own transaction) under a role of its own ({observerRole}): its statements are left out by role and its transactions by that count");
        report.Notes.Add($"reactor, {rounds.Count} rounds in the first run after {sizes.WarmUp} placements and {(sizes.WarmUpBurst > 0 ? $"an untimed round of {sizes.WarmUpBurst}" : "no untimed round")} to warm up: its checkpoint row locked (SELECT ... FOR UPDATE) while {sizes.Burst:N0} reservations were placed by 16 clients, so it stops after the event it is handling; {reactor.Backlog:N0} were then waiting; from the lock's release it was timed until the last was decided (confirmed or rejected), and until its checkpoint reached the head of the log (past the events it appended itself, which it reads and checkpoints too), looking every 20 ms; the views' projections (Marten's daemon) run meanwhile on the same cores; the figure is the median round");
    }

    /// <summary>The most called statements, a reset as one line.</summary>
    private static IEnumerable<StatementCount> Grouped(IEnumerable<StatementCount> statements) => statements
        .Where(s => !StatementCounter.ResetStatements.Skip(1).Contains(s.Query, StringComparer.Ordinal))
        .Select(s => s.Query == StatementCounter.ResetStatements[0] ? s with { Query = $"(pooled-connection reset) {string.Join("; ", StatementCounter.ResetStatements)}" } : s);

    /// <summary>One counted run's figures: the sample's statements, resets once, the rest, transactions without the observer's.</summary>
    private sealed record Side(IReadOnlyList<StatementCount> Statements, long Raw, long Resets, long Others, long Transactions, long Observer)
    {
        public static Side Of(CountedRun run, string observerRole)
        {
            var sample = run.Counts.Statements.Where(s => s.User != observerRole).ToList();
            var observer = run.Counts.Statements.Where(s => s.User == observerRole).Sum(s => s.Calls); // each look is one transaction
            return new Side(
                sample,
                sample.Sum(s => s.Calls),
                StatementCounter.Resets(sample),
                sample.Where(s => !StatementCounter.IsReset(s.Query)).Sum(s => s.Calls),
                run.Counts.Transactions - observer,
                observer);
        }
    }

    /// <summary>The reactor's run through a held-back backlog: the burst, where it stood when let go, and what the looks saw after.</summary>
    private sealed record ReactorRun(ThroughputResult Placed, SampleProgress Held, IReadOnlyList<(TimeSpan At, SampleProgress Progress)> Samples, long Decided)
    {
        public long Backlog => Decided - Held.Decided;

        /// <summary>The first look that saw every reservation decided.</summary>
        public (TimeSpan At, SampleProgress Progress) LastDecision => Samples.First(s => s.Progress.Decided >= Decided);

        public double DecisionsPerSecond => (LastDecision.Progress.Decided - Held.Decided) / LastDecision.At.TotalSeconds;

        /// <summary>Log events the reactor passed per second, from its release until it reached the head: the placements, then its own.</summary>
        public double EventsPerSecond => (Samples[^1].Progress.Reactor - Held.Reactor) / Samples[^1].At.TotalSeconds;

        /// <summary>The rate between the looks that first saw 10% and 90% of the backlog decided: no start, no tail.</summary>
        public double MiddleDecisionsPerSecond
        {
            get
            {
                var from = Samples.First(s => s.Progress.Decided - Held.Decided >= Backlog * 0.1);
                var to = Samples.First(s => s.Progress.Decided - Held.Decided >= Backlog * 0.9);
                return to.At > from.At ? (to.Progress.Decided - from.Progress.Decided) / (to.At - from.At).TotalSeconds : DecisionsPerSecond;
            }
        }
    }

    private sealed record ViewsCheck(string Summary, bool Clean);
}
