using System.Net;
using EventSourcing.Privacy;
using EventSourcing.Tests.Shared.Postgres;
using Microsoft.Extensions.DependencyInjection;
using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.Guarantees;

/// <summary>
/// A guest forgotten on one node while another node places a reservation of theirs, at the same moment: once the DELETE
/// has answered 204 the guest has no data key, none of their values reads back on any node (those that raced, or one
/// that starts later), and no new personal data of theirs is accepted.
/// </summary>
[Collection(GuaranteesRunAlone.Name)]
public sealed class ForgetRaceTests(PostgresFixture postgres)
{
    private const int Guests = 300;
    private const int AtOnce = 16;

    [Fact]
    public async Task A_guest_forgotten_on_one_node_while_another_places_their_reservation_is_forgotten_everywhere()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var nodes = await new PostgresStore(postgres).StartNodesAsync(2, Guarantee.Setup);
        using var a = nodes[0].CreateClient();
        using var b = nodes[1].CreateClient();
        var seed = Random.Shared.Next();
        var random = new Random(seed);
        var trials = Enumerable.Range(0, Guests).Select(_ => (Body: Bodies.Valid(Bodies.UniqueDay(), guestId: Guid.NewGuid()), Spread: Spread.Random(random))).ToArray();
        var outcomes = new Outcome[Guests];
        var atOnce = new ParallelOptions { MaxDegreeOfParallelism = AtOnce, CancellationToken = ct };

        await Parallel.ForEachAsync(Enumerable.Range(0, Guests), atOnce, async (i, _) =>
        {
            var (body, spread) = trials[i];
            var (placing, forgetting) = await Racing.RunAsync(() => Answer.Of(a.PlaceAsync(body)), () => Answer.Of(b.ForgetGuestAsync(body.GuestId)), spread);
            outcomes[i] = new Outcome(body, spread, placing, forgetting);
        });

        Guarantee.Report($"seed {seed}: {Guests} guests, {AtOnce} at once, {outcomes.Count(o => o.Spread.Gap < TimeSpan.FromMilliseconds(1))} of them with under 1 ms between POST and DELETE");
        Guarantee.Report($"POST /reservations on A: {Guarantee.Histogram(outcomes.Select(o => (int)o.Placing.Status))}; DELETE personal data on B: {Guarantee.Histogram(outcomes.Select(o => (int)o.Forgetting.Status))}");
        Assert.All(outcomes, o => Assert.Equal(HttpStatusCode.NoContent, o.Forgetting.Status));
        var placed = outcomes.Where(o => o.Placing.Status == HttpStatusCode.Accepted).ToArray();
        var broken = new Broken();
        broken.Add("POST answers neither 202 nor 409 (guest forgotten)", outcomes.Count(o => o.Placing.Status is not (HttpStatusCode.Accepted or HttpStatusCode.Conflict)));

        // (i) A node started after the race, with a key store and caches of its own, asks for every forgotten guest's key.
        var fresh = await nodes.StartNodeAsync();
        using var c = fresh.CreateClient();
        var keys = fresh.Services.GetRequiredService<IKeyStore>();
        var keysLeft = new List<Outcome>();
        foreach (var outcome in outcomes)
        {
            if (await keys.FindAsync(outcome.Body.GuestId.ToString(), ct) is not null)
            {
                keysLeft.Add(outcome);
            }
        }

        broken.Add("forgotten guests who still have a data key (fresh key store)", keysLeft.Count);
        foreach (var outcome in keysLeft.Take(5))
        {
            var leader = outcome.Spread.First <= outcome.Spread.Second ? "POST" : "DELETE";
            Guarantee.Report($"  key left: guest {outcome.Body.GuestId}: {leader} started {outcome.Spread.Gap.TotalMilliseconds:0.000} ms first; POST answered {(int)outcome.Placing.Status}");
        }

        // (ii) Every placed reservation, its view and its history, read on both racing nodes and on the fresh one.
        await Parallel.ForEachAsync(placed, atOnce, async (outcome, _) =>
            await c.WaitForOutcomeAsync(outcome.Placing.Read<Placed>()));
        foreach (var (name, client) in new[] { ("A", a), ("B", b), ("the fresh node", c) })
        {
            var (values, reservations) = (0, 0);
            await Parallel.ForEachAsync(placed, atOnce, async (outcome, _) =>
            {
                var id = outcome.Placing.Read<Placed>().Id;
                var readable = PersonalValues.Readable(await client.GetReservationAsync(id)) + PersonalValues.Readable(await client.GetHistoryAsync(id));
                Interlocked.Add(ref values, readable);
                Interlocked.Add(ref reservations, readable > 0 ? 1 : 0);
            });

            Guarantee.Report($"{name}: {reservations} of {placed.Length} placed reservations of forgotten guests read back personal values");
            broken.Add($"readable personal values (view and history) on {name}", values);
        }

        // (iii) New personal data of every forgotten guest, sent to each node.
        foreach (var (name, client) in new[] { ("A", a), ("B", b), ("the fresh node", c) })
        {
            var answers = new HttpStatusCode[Guests];
            await Parallel.ForEachAsync(Enumerable.Range(0, Guests), atOnce, async (i, _) =>
            {
                using var response = await client.PlaceAsync(Bodies.Valid(Bodies.UniqueDay(), guestId: outcomes[i].Body.GuestId, guestName: "Ada Again"));
                answers[i] = response.StatusCode;
            });
            Guarantee.Report($"a second reservation of each forgotten guest on {name}: {Guarantee.Histogram(answers.Select(s => (int)s))}");
            broken.Add($"new personal data of forgotten guests accepted (202) on {name}", answers.Count(s => s == HttpStatusCode.Accepted));
        }

        broken.AssertNone();
    }

    private sealed record Outcome(PlaceReservationBody Body, Spread Spread, Answer Placing, Answer Forgetting);
}
