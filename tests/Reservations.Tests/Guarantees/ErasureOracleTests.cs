using System.Net;
using EventSourcing.Tests.Shared.Postgres;
using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.Guarantees;

/// <summary>
/// After a guest is forgotten, replaying their placement's Idempotency-Key is no oracle for the erased data: a body that
/// guesses it right and one that guesses it wrong get the same answer.
/// </summary>
[Collection(GuaranteesRunAlone.Name)]
public sealed class ErasureOracleTests(PostgresFixture postgres)
{
    private const int Guests = 10;

    [Fact]
    public async Task After_forgetting_a_replayed_key_answers_alike_whether_the_erased_data_is_guessed_right_or_wrong()
    {
        await using var app = await new PostgresStore(postgres).StartAsync(Guarantee.Setup);
        using var client = app.CreateClient();
        var oracles = 0;

        for (var i = 0; i < Guests; i++)
        {
            var key = $"oracle-{Guid.NewGuid():N}";
            var body = Bodies.Valid(Bodies.UniqueDay(), guestId: Guid.NewGuid(), guestName: $"Guest Number{i}", guestEmail: $"guest{i}@example.com");
            var placed = await client.PlaceAcceptedAsync(body, key);
            await client.WaitForOutcomeAsync(placed);
            using (var forget = await client.ForgetGuestAsync(body.GuestId))
            {
                Assert.Equal(HttpStatusCode.NoContent, forget.StatusCode);
            }

            Assert.Equal(PersonalValues.Erased, (await client.GetReservationAsync(placed.Id)).GuestName);
            var wrongGuess = body with { GuestName = $"Someone Else{i}" };
            // Half the trials guess wrong first: the answer must not depend on the order either.
            Answer right, wrong;
            if (i % 2 == 0)
            {
                right = await Answer.Of(client.PlaceAsync(body, key));
                wrong = await Answer.Of(client.PlaceAsync(wrongGuess, key));
            }
            else
            {
                wrong = await Answer.Of(client.PlaceAsync(wrongGuess, key));
                right = await Answer.Of(client.PlaceAsync(body, key));
            }

            if ((right.Status, right.Title) != (wrong.Status, wrong.Title))
            {
                oracles++;
                if (oracles == 1)
                {
                    Guarantee.Report($"  guest {i}: the right guess got {right}; the wrong guess got {wrong}");
                }
            }
        }

        Guarantee.Report($"{Guests} forgotten guests, each replayed with the right and a wrong guess of their erased name");
        var broken = new Broken();
        broken.Add("forgotten guests whose key replay tells a right guess from a wrong one", oracles);
        broken.AssertNone();
    }
}
