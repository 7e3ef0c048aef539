using System.Net;
using System.Net.Http.Json;
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
    public async Task Two_clients_sending_one_key_each_get_their_own_reservation_and_never_the_other_s_result()
    {
        await using var app = await store.StartAsync(new AppSetup(OverTcp: true));
        using var a = app.CreateClientFrom(IPAddress.Parse("127.0.0.2"));
        using var b = app.CreateClientFrom(IPAddress.Parse("127.0.0.3"));
        const string key = "order-1"; // a key any client may well pick
        var body = Bodies.Valid(Bodies.UniqueDay(), partySize: 3);

        var placedByA = await a.PlaceAcceptedAsync(body, key);
        var placedByB = await b.PlaceAcceptedAsync(body, key); // the same key and the very same body: still B's own command

        Assert.NotEqual(placedByA.Id, placedByB.Id);
        Assert.True(placedByB.Position > placedByA.Position, $"B's placement at {placedByB.Position} was stored, after A's at {placedByA.Position}");
        Assert.Equal(placedByA, await a.PlaceAcceptedAsync(body, key)); // each client's retry still gets its own first answer
        Assert.Equal(placedByB, await b.PlaceAcceptedAsync(body, key));
        using (var otherBody = await b.PlaceAsync(body with { PartySize = 4 }, key))
        {
            await otherBody.ReadProblemAsync(HttpStatusCode.UnprocessableEntity); // B's key, reused by B
        }

        Assert.Equal("confirmed", (await a.WaitForOutcomeAsync(placedByA)).Status);
        Assert.Equal("confirmed", (await b.WaitForOutcomeAsync(placedByB)).Status);
        Assert.Equal([placedByA.Id, placedByB.Id], (await a.GetGuestReservationsAsync(body.GuestId)).Select(r => r.Id).Order());
        foreach (var placed in new[] { placedByA, placedByB })
        {
            Assert.Equal(["reservation-placed.v1", "reservation-confirmed.v1"], (await a.GetHistoryAsync(placed.Id)).Select(e => e.Type));
        }
    }

    [Fact]
    public async Task A_key_that_is_too_long_or_malformed_is_a_400_problem_and_stores_nothing()
    {
        await using var app = await store.StartAsync();
        using var client = app.CreateClient();
        var guest = Guid.NewGuid();
        var head = (await client.GetHealthAsync()).Head;

        foreach (var key in new[] { new string('k', 101), " ", "has space", "ключ", "a/b", "semi;colon", "a,b", "\"quoted\"", "tab\there" })
        {
            using var response = await client.PlaceAsync(Bodies.Valid(Bodies.UniqueDay(), guestId: guest), key);
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"key '{key}': {(int)response.StatusCode}");
            var problem = await response.ReadProblemAsync(HttpStatusCode.BadRequest);
            Assert.Contains("letters, digits", Assert.Single(problem.GetProperty("errors").GetProperty("Idempotency-Key").EnumerateArray()).GetString(), StringComparison.Ordinal);
        }

        using (var twoKeys = new HttpRequestMessage(HttpMethod.Post, ReservationsApi.Url("/reservations")) { Content = JsonContent.Create(Bodies.Valid(Bodies.UniqueDay(), guestId: guest), options: ReservationsApi.Json) })
        {
            twoKeys.Headers.Add(Reservations.Requests.IdempotencyKeyHeader, ["k-1", "k-2"]);
            using var response = await client.SendAsync(twoKeys, TestContext.Current.CancellationToken);
            await response.ReadProblemAsync(HttpStatusCode.BadRequest);
        }

        Assert.Equal(head, (await client.GetHealthAsync()).Head);
        var body = Bodies.Valid(Bodies.UniqueDay(), guestId: guest);
        var longest = await client.PlaceAcceptedAsync(body, new string('k', 100)); // the longest key there may be
        Assert.Equal(longest, await client.PlaceAcceptedAsync(body, new string('k', 100)));
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
