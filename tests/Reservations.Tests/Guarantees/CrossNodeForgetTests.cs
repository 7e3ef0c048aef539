using System.Net;
using EventSourcing.Tests.Shared.Postgres;
using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.Guarantees;

/// <summary>
/// A guest forgotten through one node reads as erased on every node as soon as the DELETE has answered, also on a node
/// that had just read (and so cached the key of) the guest.
/// </summary>
[Collection(GuaranteesRunAlone.Name)]
public sealed class CrossNodeForgetTests(PostgresFixture postgres)
{
    private const int Guests = 30;

    [Fact]
    public async Task Once_a_forget_on_one_node_has_answered_another_node_that_read_the_guest_reads_them_as_erased()
    {
        await using var nodes = await new PostgresStore(postgres).StartNodesAsync(2, Guarantee.Setup);
        using var a = nodes[0].CreateClient();
        using var b = nodes[1].CreateClient();
        var guests = new List<(PlaceReservationBody Body, Placed Placed)>();
        for (var i = 0; i < Guests; i++)
        {
            var body = Bodies.Valid(Bodies.UniqueDay(), guestId: Guid.NewGuid(), guestName: $"Guest Number{i}");
            guests.Add((body, await a.PlaceAcceptedAsync(body)));
        }

        // B reads every guest's reservation (so it has their keys), with the real values: or this test would prove nothing.
        var unreadOnB = 0;
        foreach (var (body, placed) in guests)
        {
            var view = await b.WaitForOutcomeAsync(placed);
            unreadOnB += view.GuestName == body.GuestName && PersonalValues.Readable(await b.GetHistoryAsync(placed.Id)) == 3 ? 0 : 1;
        }

        Assert.Equal(0, unreadOnB);

        var (valuesOnB, readsOnB, valuesOnA) = (0, 0, 0);
        foreach (var (body, placed) in guests)
        {
            using (var forget = await a.ForgetGuestAsync(body.GuestId))
            {
                Assert.Equal(HttpStatusCode.NoContent, forget.StatusCode);
            }

            var onB = PersonalValues.Readable(await b.GetReservationAsync(placed.Id)) + PersonalValues.Readable(await b.GetHistoryAsync(placed.Id));
            (valuesOnB, readsOnB) = (valuesOnB + onB, readsOnB + (onB > 0 ? 1 : 0));
            valuesOnA += PersonalValues.Readable(await a.GetReservationAsync(placed.Id)) + PersonalValues.Readable(await a.GetHistoryAsync(placed.Id));
        }

        Guarantee.Report($"{Guests} guests placed on A and read on B, then forgotten through A: {readsOnB} of them still read back on B after the DELETE answered 204");
        var broken = new Broken();
        broken.Add("readable personal values (view and history) on B after the forget on A answered", valuesOnB);
        broken.Add("readable personal values (view and history) on A, the forgetting node", valuesOnA);
        broken.AssertNone();
    }
}
