using System.Net;
using EventSourcing.Tests.Shared.Postgres;
using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.Flow;

/// <summary>The Idempotency-Key of POST /reservations: a retry gets the first answer and changes nothing.</summary>
public abstract class IdempotencyTests(StoreUnderTest store)
{
    [Fact]
    public async Task Retrying_with_the_same_key_and_body_returns_the_first_response_and_appends_nothing()
    {
        await using var app = await store.StartAsync();
        using var client = app.CreateClient();
        var key = $"retry-{Guid.NewGuid():N}";
        var body = Bodies.Valid(Bodies.UniqueDay(), partySize: 3);

        using var first = await client.PlaceAsync(body, key);
        var firstBody = await first.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        var placed = await first.ReadAsync<Placed>(HttpStatusCode.Accepted);
        Assert.Equal("confirmed", (await client.WaitForOutcomeAsync(placed)).Status);
        var headBefore = (await client.GetHealthAsync()).Head;
        var historyBefore = await client.GetHistoryAsync(placed.Id);

        using var retry = await client.PlaceAsync(body, key);

        Assert.Equal(HttpStatusCode.Accepted, retry.StatusCode);
        Assert.Equal(firstBody, await retry.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Equal(placed, await retry.ReadAsync<Placed>(HttpStatusCode.Accepted));
        Assert.Equal(first.Headers.Location, retry.Headers.Location);
        Assert.Equal(headBefore, (await client.GetHealthAsync()).Head);
        var historyAfter = await client.GetHistoryAsync(placed.Id);
        Assert.Equal(historyBefore.Select(e => (e.Type, e.Position)), historyAfter.Select(e => (e.Type, e.Position)));
        Assert.Equal(["reservation-placed.v1", "reservation-confirmed.v1"], historyAfter.Select(e => e.Type));
        Assert.Single(await client.GetGuestReservationsAsync(body.GuestId));
    }

    [Fact]
    public async Task Reusing_a_key_with_another_body_is_a_422_problem()
    {
        await using var app = await store.StartAsync();
        using var client = app.CreateClient();
        var key = Guid.NewGuid().ToString();
        var body = Bodies.Valid(Bodies.UniqueDay(), partySize: 3);
        var placed = await client.PlaceAcceptedAsync(body, key);
        await client.WaitForOutcomeAsync(placed);
        var head = (await client.GetHealthAsync()).Head;

        foreach (var other in new[] { body with { PartySize = 4 }, body with { GuestName = "Someone Else" }, body with { Day = body.Day.AddDays(1) }, Bodies.Valid(body.Day) })
        {
            using var response = await client.PlaceAsync(other, key);
            await response.ReadProblemAsync(HttpStatusCode.UnprocessableEntity);
        }

        Assert.Equal(head, (await client.GetHealthAsync()).Head);
        Assert.Equal(2, (await client.GetHistoryAsync(placed.Id)).Count);
        using var sameAgain = await client.PlaceAsync(body, key);
        Assert.Equal(placed, await sameAgain.ReadAsync<Placed>(HttpStatusCode.Accepted));
    }

    [Fact]
    public async Task Concurrent_retries_with_one_key_place_one_reservation()
    {
        await using var app = await store.StartAsync();
        using var client = app.CreateClient();
        var key = $"burst:{Guid.NewGuid():N}";
        var body = Bodies.Valid(Bodies.UniqueDay());

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => client.PlaceAsync(body, key)));
        var placed = new List<Placed>();
        foreach (var response in responses)
        {
            using (response)
            {
                placed.Add(await response.ReadAsync<Placed>(HttpStatusCode.Accepted));
            }
        }

        var one = Assert.Single(placed.Distinct());
        Assert.Equal("confirmed", (await client.WaitForOutcomeAsync(one)).Status);
        Assert.Equal(["reservation-placed.v1", "reservation-confirmed.v1"], (await client.GetHistoryAsync(one.Id)).Select(e => e.Type));
        Assert.Equal(one.Id, Assert.Single(await client.GetGuestReservationsAsync(body.GuestId)).Id);
    }

    [Fact]
    public async Task Without_a_key_the_same_body_places_another_reservation()
    {
        await using var app = await store.StartAsync();
        using var client = app.CreateClient();
        var body = Bodies.Valid(Bodies.UniqueDay());

        var first = await client.PlaceAcceptedAsync(body);
        var second = await client.PlaceAcceptedAsync(body);

        Assert.NotEqual(first.Id, second.Id);
        Assert.True(second.Position > first.Position);
    }
}

public sealed class InMemoryIdempotencyTests() : IdempotencyTests(new InMemoryStore());

public sealed class PostgresIdempotencyTests(PostgresFixture postgres) : IdempotencyTests(new PostgresStore(postgres));
