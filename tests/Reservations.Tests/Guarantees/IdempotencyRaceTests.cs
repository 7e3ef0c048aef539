using System.Net;
using EventSourcing.Tests.Shared.Postgres;
using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.Guarantees;

/// <summary>
/// One Idempotency-Key sent to two nodes at the same moment: with two bodies, one is placed (202) and the other refused
/// (422), never both accepted with one silently dropped; with one body, both get the one answer and one reservation.
/// </summary>
[Collection(GuaranteesRunAlone.Name)]
public sealed class IdempotencyRaceTests(PostgresFixture postgres)
{
    private const int Pairs = 60;
    private const int TwinPairs = 200; // duplicates of one body, the common case: more trials
    private const string Placement = "reservation-placed.v1";

    [Fact]
    public async Task One_key_with_two_bodies_on_two_nodes_at_once_is_one_202_and_one_422_and_the_202_s_body_is_stored()
    {
        await using var nodes = await new PostgresStore(postgres).StartNodesAsync(2, Guarantee.Setup);
        using var a = nodes[0].CreateClient();
        using var b = nodes[1].CreateClient();
        var seed = Random.Shared.Next();
        var random = new Random(seed);
        var pairs = new List<string>();
        var (bothAccepted, notOneEach, notStored) = (0, 0, 0);

        for (var i = 0; i < Pairs; i++)
        {
            var key = $"race-{Guid.NewGuid():N}";
            var toA = Bodies.Valid(Bodies.UniqueDay(), partySize: 2);
            var toB = toA with { PartySize = 3 };
            var (atA, atB) = await Racing.RunAsync(() => Answer.Of(a.PlaceAsync(toA, key)), () => Answer.Of(b.PlaceAsync(toB, key)), Spread.Random(random));
            pairs.Add($"{(int)atA.Status}/{(int)atB.Status}");
            bothAccepted += atA.IsSuccess && atB.IsSuccess ? 1 : 0;
            var statuses = new[] { atA.Status, atB.Status }.Order().ToArray();
            notOneEach += statuses is [HttpStatusCode.Accepted, HttpStatusCode.UnprocessableEntity] ? 0 : 1;
            foreach (var (answer, body) in new[] { (atA, toA), (atB, toB) }.Where(x => x.Item1.Status == HttpStatusCode.Accepted))
            {
                var placements = (await a.GetHistoryAsync(answer.Read<Placed>().Id)).Where(e => e.Type == Placement).ToArray();
                var stored = placements is [var only] && only.Data.GetProperty("partySize").GetInt32() == body.PartySize;
                notStored += stored ? 0 : 1;
                if (!stored && notStored <= 3)
                {
                    Guarantee.Report($"  pair {i}: A answered {atA}, B answered {atB}; the stored party size is {string.Join(", ", placements.Select(p => p.Data.GetProperty("partySize").GetInt32()))}, the 202 was for {body.PartySize}");
                }
            }
        }

        Guarantee.Report($"seed {seed}: {Pairs} pairs (status at A / at B): {Guarantee.Histogram(pairs)}");
        var broken = new Broken();
        broken.Add("pairs where both bodies got 2xx (one silently dropped)", bothAccepted);
        broken.Add("pairs not answered exactly one 202 and one 422", notOneEach);
        broken.Add("202 answers whose body is not the one reservation stored", notStored);
        broken.AssertNone();
    }

    [Fact]
    public async Task One_key_with_one_body_on_two_nodes_at_once_answers_both_alike_and_places_one_reservation()
    {
        await using var nodes = await new PostgresStore(postgres).StartNodesAsync(2, Guarantee.Setup);
        using var a = nodes[0].CreateClient();
        using var b = nodes[1].CreateClient();
        var seed = Random.Shared.Next();
        var random = new Random(seed);
        var pairs = new List<string>();
        var (notBothAccepted, different, notOnePlacement) = (0, 0, 0);

        for (var i = 0; i < TwinPairs; i++)
        {
            var key = $"twin-{Guid.NewGuid():N}";
            var body = Bodies.Valid(Bodies.UniqueDay());
            var (atA, atB) = await Racing.RunAsync(() => Answer.Of(a.PlaceAsync(body, key)), () => Answer.Of(b.PlaceAsync(body, key)), Spread.Random(random));
            pairs.Add($"{(int)atA.Status}/{(int)atB.Status}");
            if (atA.Status != HttpStatusCode.Accepted || atB.Status != HttpStatusCode.Accepted)
            {
                notBothAccepted++;
                Guarantee.Report($"  pair {i}: A answered {atA}, B answered {atB}");
                continue;
            }

            different += atA.Body == atB.Body ? 0 : 1;
            var history = await a.GetHistoryAsync(atA.Read<Placed>().Id);
            notOnePlacement += history.Count(e => e.Type == Placement) == 1 ? 0 : 1;
        }

        Guarantee.Report($"seed {seed}: {TwinPairs} pairs (status at A / at B): {Guarantee.Histogram(pairs)}");
        var broken = new Broken();
        broken.Add("pairs not both answered 202", notBothAccepted);
        broken.Add("pairs answered with different bodies", different);
        broken.Add("pairs whose reservation was not placed exactly once", notOnePlacement);
        broken.AssertNone();
    }
}
