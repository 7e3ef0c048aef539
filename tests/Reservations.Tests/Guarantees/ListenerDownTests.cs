using System.Diagnostics;
using System.Globalization;
using System.Net;
using EventSourcing.Testing.Postgres;
using EventSourcing.Tests.Shared.Postgres;
using Npgsql;
using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.Guarantees;

/// <summary>
/// Node B's forget listener (its one LISTEN connection) is taken down again and again while node A forgets guests whose
/// keys B has cached and keeps reading: B misses the notifications, so only its reconnections (which drop every key) and
/// the trust rules (news confirmed at most ForgetPropagation ago, or the key read within it) stand between a DELETE that
/// has answered and B's cached keys. Terminated, the listener reconnects within a quarter of the bound; frozen
/// (SIGSTOP), it hangs until its heartbeat times out, and B's news of forgets goes stale.
/// </summary>
[Collection(GuaranteesRunAlone.Name)]
public sealed class ListenerDownTests(PostgresFixture postgres)
{
    private const int Guests = 12;
    private const int AtOnce = 4;
    private const string NodeA = "coherence-node-a";
    private const string NodeB = "coherence-node-b";
    private static readonly TimeSpan DisruptPause = TimeSpan.FromMilliseconds(2);
    private static readonly TimeSpan SamplePause = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan ForgetPropagation = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan ReadOnAfterTheAnswer = TimeSpan.FromMilliseconds(300);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task With_its_forget_listener_terminated_again_and_again_a_node_reads_nothing_of_a_guest_once_the_DELETE_answered()
    {
        await RunAsync(
            "terminated",
            async admin =>
            {
                var terminated = 0;
                foreach (var pid in await ListenersAsync(admin, NodeB))
                {
                    terminated += await TerminateAsync(admin, pid) ? 1 : 0;
                }

                return terminated;
            },
            restore: () => Task.CompletedTask,
            assertStale: false);
    }

    [Fact]
    public async Task With_its_forget_listener_frozen_a_node_reads_nothing_of_a_guest_once_the_DELETE_answered()
    {
        Assert.SkipWhen(postgres.Server.Kind != PostgresServerKind.LocalCluster, "Freezing a backend needs a local cluster (its processes on this machine).");
        var frozen = new List<int>();
        await RunAsync(
            "frozen (SIGSTOP)",
            async admin =>
            {
                var count = 0;
                foreach (var pid in (await ListenersAsync(admin, NodeB)).Except(frozen))
                {
                    await SignalAsync("STOP", pid);
                    frozen.Add(pid);
                    count++;
                }

                return count;
            },
            restore: async () =>
            {
                foreach (var pid in frozen)
                {
                    await SignalAsync("CONT", pid); // its client gave up on it long ago: it sees the closed socket and ends
                }
            },
            assertStale: true);
    }

    /// <summary>
    /// Two nodes named for pg_stat_activity; guests placed on A and read on B; then <paramref name="disrupt"/> runs in a
    /// loop against B's listener (returning how many backends it hit) while A forgets every guest and B reads them;
    /// <paramref name="restore"/> undoes what it did before the nodes stop.
    /// </summary>
    private async Task RunAsync(string how, Func<NpgsqlConnection, Task<int>> disrupt, Func<Task> restore, bool assertStale)
    {
        await using var nodes = await new PostgresStore(postgres).StartNodesAsync(0, Guarantee.Setup);
        var nodeA = await nodes.StartNodeAsync(ForgetWatch.Named(nodes, NodeA));
        var nodeB = await nodes.StartNodeAsync(ForgetWatch.Named(nodes, NodeB));
        using var a = nodeA.CreateClient();
        using var b = nodeB.CreateClient();
        await using var admin = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(nodes.ConnectionString) { ApplicationName = "coherence-disrupter", Pooling = false }.ConnectionString);
        await admin.OpenAsync(Ct);
        await Eventually.Async(async () => (await ListenersAsync(admin, NodeB)).Count, count => count == 1, $"node B's forget listener ({NodeB}) in pg_stat_activity", ReservationsApi.Patience, SamplePause);
        var listenersOfA = await ListenersAsync(admin, NodeA);
        Assert.Single(listenersOfA);
        var guests = await ForgetBoundTests.PlaceAndReadAsync(a, b, Guests);

        using var stop = new CancellationTokenSource();
        var hits = 0;
        var disrupting = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                Interlocked.Add(ref hits, await disrupt(admin));
                await Task.Delay(DisruptPause, CancellationToken.None);
            }
        }, Ct);
        var newsAges = new List<TimeSpan?>();
        var sampling = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                newsAges.Add(ForgetWatch.NewsAge(nodeB));
                await Task.Delay(SamplePause, CancellationToken.None);
            }
        }, Ct);
        await Eventually.Async(() => Task.FromResult(Volatile.Read(ref hits)), count => count > 0 || disrupting.IsCompleted, $"B's listener {how} a first time", ReservationsApi.Patience, SamplePause);

        var watches = new List<ForgetWatch>();
        var started = Stopwatch.GetTimestamp();
        try
        {
            await Parallel.ForEachAsync(guests, new ParallelOptions { MaxDegreeOfParallelism = AtOnce, CancellationToken = Ct }, async (guest, _) =>
            {
                var watch = await ForgetWatch.RunAsync(a, b, guest.Body.GuestId, guest.Placed, ReadOnAfterTheAnswer);
                lock (watches)
                {
                    watches.Add(watch);
                }
            });
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(disrupting, sampling);
            await restore();
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        var stale = newsAges.Count(age => age is null || age > ForgetPropagation);
        var listenerOfAUntouched = (await ListenersAsync(admin, NodeA)).SequenceEqual(listenersOfA);
        Guarantee.Report($"B's forget listener {how} {hits} times in {elapsed.TotalSeconds:0.0} s of forgetting; B's news of forgets was stale (older than {ForgetPropagation.TotalMilliseconds:0} ms, or never confirmed) in {stale} of {newsAges.Count} samples; its age: {ForgetWatch.Spread(newsAges.OfType<TimeSpan>())}, never confirmed in {newsAges.Count(age => age is null)}");
        Guarantee.Report($"{Guests} guests forgotten through A ({AtOnce} at once): {watches.Sum(w => w.Reads.Count)} reads on B, {watches.Sum(w => w.ReadsAfterTheAnswer.Count())} of them started after their DELETE answered; DELETE {ForgetWatch.Spread(watches.Select(w => w.DeleteDuration))}");
        Guarantee.Report($"B first read a guest as erased, after their DELETE started: {ForgetWatch.Spread(watches.Select(w => w.FirstErasedAfterTheStart).OfType<TimeSpan>())}");
        var broken = new Broken();
        broken.Add("DELETEs that did not answer 204", watches.Count(w => w.Status != HttpStatusCode.NoContent));
        broken.Add("readable personal values on B in reads that started after the DELETE answered", watches.Sum(w => w.ReadableAfterTheAnswer));
        broken.Add("guests whose values B never read before the DELETE (the test would prove nothing)", watches.Count(w => !w.Reads.Any(r => r.Readable > 0 && r.Started < w.DeleteStarted)));
        broken.Add($"times B's listener was {how} (none: the test would prove nothing)", hits > 0 ? 0 : 1);
        broken.Add("A's listener disturbed (the disruption hit the wrong node)", listenerOfAUntouched ? 0 : 1);
        if (assertStale)
        {
            broken.Add("samples of B's news of forgets gone stale (none: the trust rules were never needed)", stale > 0 ? 0 : 1);
        }

        broken.AssertNone();
    }

    /// <summary>The node's forget-listener backends: the last query a LISTEN or a heartbeat to itself.</summary>
    private static async Task<List<int>> ListenersAsync(NpgsqlConnection admin, string node)
    {
        await using var command = new NpgsqlCommand(
            "select pid from pg_stat_activity where datname = current_database() and application_name = @node and query like '%es\\_heartbeat\\_%' order by pid",
            admin);
        command.Parameters.AddWithValue("node", node);
        var pids = new List<int>();
        await using var reader = await command.ExecuteReaderAsync(CancellationToken.None);
        while (await reader.ReadAsync(CancellationToken.None))
        {
            pids.Add(reader.GetInt32(0));
        }

        return pids;
    }

    private static async Task<bool> TerminateAsync(NpgsqlConnection admin, int pid)
    {
        await using var command = new NpgsqlCommand("select pg_terminate_backend(@pid)", admin);
        command.Parameters.AddWithValue("pid", pid);
        return (bool)(await command.ExecuteScalarAsync(CancellationToken.None))!;
    }

    private static async Task SignalAsync(string signal, int pid)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", [$"-{signal}", pid.ToString(CultureInfo.InvariantCulture)]) { RedirectStandardError = true })!;
        await kill.WaitForExitAsync(CancellationToken.None);
    }
}
