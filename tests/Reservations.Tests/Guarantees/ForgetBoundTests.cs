using System.Diagnostics;
using System.Net;
using EventSourcing.Tests.Shared.Postgres;
using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.Guarantees;

/// <summary>
/// How the forget's bound looks from outside, with healthy nodes: node B, reading a guest in a loop while node A forgets
/// them, shows no personal value in any read that starts after the DELETE answered; the DELETE itself takes at least
/// ForgetPropagation (1 s), which it waits so that every node has dropped the key; and every node keeps confirming,
/// within the bound, that it has heard every forget (or it distrusts its whole key cache).
/// </summary>
[Collection(GuaranteesRunAlone.Name)]
public sealed class ForgetBoundTests(PostgresFixture postgres)
{
    private const int Guests = 12;
    private const int AtOnce = 4;
    private static readonly TimeSpan ForgetPropagation = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan ReadOnAfterTheAnswer = TimeSpan.FromMilliseconds(300);
    private static readonly TimeSpan Watched = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan SamplePause = TimeSpan.FromMilliseconds(10);

    [Fact]
    public async Task A_node_reading_a_guest_while_another_forgets_them_shows_nothing_after_the_DELETE_answered()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var nodes = await new PostgresStore(postgres).StartNodesAsync(2, Guarantee.Setup);
        using var a = nodes[0].CreateClient();
        using var b = nodes[1].CreateClient();
        var guests = await PlaceAndReadAsync(a, b, Guests);

        var watches = new List<ForgetWatch>();
        await Parallel.ForEachAsync(guests, new ParallelOptions { MaxDegreeOfParallelism = AtOnce, CancellationToken = ct }, async (guest, _) =>
        {
            var watch = await ForgetWatch.RunAsync(a, b, guest.Body.GuestId, guest.Placed, ReadOnAfterTheAnswer);
            lock (watches)
            {
                watches.Add(watch);
            }
        });

        Guarantee.Report($"{Guests} guests forgotten through A ({AtOnce} at once) while B read each in a loop: {watches.Sum(w => w.Reads.Count)} reads on B, {watches.Sum(w => w.ReadsAfterTheAnswer.Count())} of them started after their DELETE answered");
        Guarantee.Report($"DELETE duration (waits ForgetPropagation = {ForgetPropagation.TotalMilliseconds:0} ms): {ForgetWatch.Spread(watches.Select(w => w.DeleteDuration))}");
        Guarantee.Report($"B first read a guest as erased, after their DELETE started: {ForgetWatch.Spread(watches.Select(w => w.FirstErasedAfterTheStart).OfType<TimeSpan>())}");
        var lastReadable = watches.Select(w => w.LastReadableAfterTheAnswer).OfType<TimeSpan>().ToArray();
        Guarantee.Report($"B's last read still showing values started, relative to the DELETE's answer (negative: before it): {(lastReadable.Length == 0 ? "none showed values" : ForgetWatch.Spread(lastReadable))}");
        Guarantee.Report($"so B showed values for at most {Math.Max(0, lastReadable.DefaultIfEmpty().Max().TotalMilliseconds):0} ms after a DELETE answered (0 expected)");
        var broken = new Broken();
        broken.Add("DELETEs that did not answer 204", watches.Count(w => w.Status != HttpStatusCode.NoContent));
        broken.Add("readable personal values on B in reads that started after the DELETE answered", watches.Sum(w => w.ReadableAfterTheAnswer));
        broken.Add($"DELETEs that answered sooner than ForgetPropagation ({ForgetPropagation.TotalMilliseconds:0} ms)", watches.Count(w => w.DeleteDuration < ForgetPropagation));
        broken.Add("guests whose values B never read before the DELETE (the test would prove nothing)", watches.Count(w => !w.Reads.Any(r => r.Readable > 0 && r.Started < w.DeleteStarted)));
        broken.AssertNone();
    }

    [Fact]
    public async Task Healthy_nodes_confirm_their_news_of_forgets_within_the_bound_all_along()
    {
        // Each node sends itself a heartbeat every quarter of ForgetPropagation and trusts its cached keys beyond their
        // first second only while one came back within the bound: a node whose heartbeats stop distrusts every key and
        // asks the key store again for each subject it reads, every second.
        var ct = TestContext.Current.CancellationToken;
        await using var nodes = await new PostgresStore(postgres).StartNodesAsync(3, Guarantee.Setup);
        var clients = nodes.Select(node => node.CreateClient()).ToArray();
        try
        {
            var guests = await PlaceAndReadAsync(clients[0], clients[1], 3);
            var samples = nodes.Select(_ => new List<TimeSpan?>()).ToArray();
            var watching = Stopwatch.StartNew();
            var reads = 0;
            while (watching.Elapsed < Watched)
            {
                for (var i = 0; i < nodes.Count; i++)
                {
                    samples[i].Add(ForgetWatch.NewsAge(nodes[i]));
                }

                var (_, placed) = guests[reads % guests.Length];
                PersonalValues.Readable(await clients[reads++ % clients.Length].GetReservationAsync(placed.Id)); // some traffic
                await Task.Delay(SamplePause, ct);
            }

            var broken = new Broken();
            for (var i = 0; i < nodes.Count; i++)
            {
                var stale = samples[i].Count(age => age is null || age > ForgetPropagation);
                Guarantee.Report($"node {i}: news of forgets {ForgetWatch.Spread(samples[i].OfType<TimeSpan>())} old over {samples[i].Count} samples in {Watched.TotalSeconds:0} s; older than {ForgetPropagation.TotalMilliseconds:0} ms (or never confirmed) in {stale}");
                broken.Add($"samples of node {i}'s news of forgets older than ForgetPropagation", stale);
            }

            broken.AssertNone();
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
    }

    /// <summary>Places a reservation for each of <paramref name="count"/> new guests on <paramref name="placing"/>, and checks that <paramref name="reading"/> reads their values (so it has their keys).</summary>
    internal static async Task<(PlaceReservationBody Body, Placed Placed)[]> PlaceAndReadAsync(HttpClient placing, HttpClient reading, int count)
    {
        var guests = new List<(PlaceReservationBody Body, Placed Placed)>();
        for (var i = 0; i < count; i++)
        {
            var body = Bodies.Valid(Bodies.UniqueDay(), guestId: Guid.NewGuid(), guestName: $"Guest Number{i}");
            guests.Add((body, await placing.PlaceAcceptedAsync(body)));
        }

        var unread = 0;
        foreach (var (body, placed) in guests)
        {
            var view = await reading.WaitForOutcomeAsync(placed);
            unread += view.GuestName == body.GuestName && PersonalValues.Readable(await reading.GetHistoryAsync(placed.Id)) == 3 ? 0 : 1;
        }

        Assert.Equal(0, unread);
        return [.. guests];
    }
}
