using System.Net;
using EventSourcing.Tests.Shared.Postgres;
using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.Flow;

/// <summary>A reservation's life through the API: placed, confirmed or rejected by the reactor, cancelled; on every store.</summary>
public abstract class ReservationFlowTests(StoreUnderTest store)
{
    [Fact]
    public async Task Placing_then_confirming_then_cancelling_releases_the_seats()
    {
        await using var app = await store.StartAsync();
        using var client = app.CreateClient();
        var day = Bodies.UniqueDay();
        var guest = Guid.NewGuid();

        var placed = await client.PlaceAcceptedAsync(Bodies.Valid(day, partySize: 4, guestId: guest));
        var seen = await client.GetReservationAsync(placed.Id, atLeast: placed.Position);
        Assert.Equal((placed.Id, guest, "Ada Lovelace", "ada@example.com", "+44 20 7946 0000", day, 4), (seen.Id, seen.GuestId, seen.GuestName, seen.GuestEmail, seen.GuestPhone, seen.Day, seen.PartySize));
        Assert.True(seen.Status is "tentative" or "confirmed", seen.Status);

        var confirmed = await client.WaitForOutcomeAsync(placed);
        Assert.Equal(("confirmed", 2L), (confirmed.Status, confirmed.Version));
        var held = await client.WaitForAvailabilityAsync(day, a => a.Held == 4, "4 seats held");
        Assert.Equal(new Availability(day, 40, 4, 36), held);

        using (var stale = await client.CancelAsync(placed.Id, ifMatch: "\"1\""))
        {
            await stale.ReadProblemAsync(HttpStatusCode.PreconditionFailed);
        }

        using var cancelResponse = await client.CancelAsync(placed.Id, ifMatch: $"\"{confirmed.Version}\"");
        var cancelled = await cancelResponse.ReadAsync<Cancelled>(HttpStatusCode.OK);
        Assert.Equal(new Cancelled(placed.Id, "cancelled", 3, cancelled.Position), cancelled);
        Assert.True(cancelled.Position > placed.Position, $"cancel position {cancelled.Position} after place position {placed.Position}");
        Assert.Equal("\"3\"", ReservationsApi.ETagOf(cancelResponse).Tag);

        using (var staleAfterCancel = await client.CancelAsync(placed.Id, ifMatch: "\"2\""))
        {
            await staleAfterCancel.ReadProblemAsync(HttpStatusCode.PreconditionFailed);
        }

        var after = await client.GetReservationAsync(placed.Id, atLeast: cancelled.Position);
        Assert.Equal(("cancelled", 3L), (after.Status, after.Version));
        var released = await client.WaitForAvailabilityAsync(day, a => a.Held == 0, "the seats released");
        Assert.Equal(new Availability(day, 40, 0, 40), released);

        var history = await client.GetHistoryAsync(placed.Id);
        Assert.Equal(["reservation-placed.v1", "reservation-confirmed.v1", "reservation-cancelled.v1"], history.Select(e => e.Type));
        Assert.Equal([1L, 2L, 3L], history.Select(e => e.Version));
        Assert.Equal(placed.Position, history[0].Position);
        Assert.Equal(cancelled.Position, history[2].Position);
        Assert.True(history[0].Position < history[1].Position && history[1].Position < history[2].Position, string.Join(", ", history.Select(e => e.Position)));
        Assert.True(history[0].Timestamp <= history[1].Timestamp && history[1].Timestamp <= history[2].Timestamp);
        Assert.True(history[2].Data.GetProperty("wasConfirmed").GetBoolean());
    }

    [Fact]
    public async Task A_party_larger_than_the_seats_left_is_rejected_as_sold_out()
    {
        await using var app = await store.StartAsync(new Dictionary<string, string?> { ["Reservations:SeatsPerDay"] = "5" });
        using var client = app.CreateClient();
        var day = Bodies.UniqueDay();

        var first = await client.PlaceAcceptedAsync(Bodies.Valid(day, partySize: 4));
        Assert.Equal("confirmed", (await client.WaitForOutcomeAsync(first)).Status);
        var second = await client.PlaceAcceptedAsync(Bodies.Valid(day, partySize: 2));
        var rejected = await client.WaitForOutcomeAsync(second);

        Assert.Equal(("rejected", 2L), (rejected.Status, rejected.Version));
        var availability = await client.WaitForAvailabilityAsync(day, a => a.Held == 4, "4 seats held");
        Assert.Equal(new Availability(day, 5, 4, 1), availability);
        var history = await client.GetHistoryAsync(second.Id);
        Assert.Equal(["reservation-placed.v1", "reservation-rejected.v1"], history.Select(e => e.Type));
        Assert.Equal("sold-out", history[1].Data.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task One_read_with_decided_right_after_each_placement_shows_it_confirmed_or_rejected_never_tentative()
    {
        await using var app = await store.StartAsync(new Dictionary<string, string?> { ["Reservations:SeatsPerDay"] = "6" });
        using var client = app.CreateClient();
        var day = Bodies.UniqueDay();

        var seen = new List<ReservationView>();
        for (var i = 0; i < 5; i++)
        {
            var placed = await client.PlaceAcceptedAsync(Bodies.Valid(day, partySize: 2));
            seen.Add(await client.GetReservationAsync(placed.Id, atLeast: placed.Position, decided: true));
        }

        Assert.Equal([("confirmed", 2L), ("confirmed", 2L), ("confirmed", 2L), ("rejected", 2L), ("rejected", 2L)], seen.Select(v => (v.Status, v.Version)));
        using (var cancel = await client.CancelAsync(seen[0].Id))
        {
            Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        }

        var cancelled = await client.GetReservationAsync(seen[0].Id, decided: true); // no position: the stream says what to wait for
        Assert.Equal(("cancelled", 3L), (cancelled.Status, cancelled.Version));
        using var notABoolean = await client.GetAsync(ReservationsApi.Url($"/reservations/{seen[0].Id}?decided=maybe"), TestContext.Current.CancellationToken);
        await notABoolean.ReadProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Cancelling_a_rejected_reservation_is_a_409_problem()
    {
        await using var app = await store.StartAsync(new Dictionary<string, string?> { ["Reservations:SeatsPerDay"] = "1" });
        using var client = app.CreateClient();
        var placed = await client.PlaceAcceptedAsync(Bodies.Valid(Bodies.UniqueDay(), partySize: 2));
        Assert.Equal("rejected", (await client.WaitForOutcomeAsync(placed)).Status);

        using var response = await client.CancelAsync(placed.Id);

        await response.ReadProblemAsync(HttpStatusCode.Conflict);
        Assert.Equal(2, (await client.GetHistoryAsync(placed.Id)).Count);
    }

    [Fact]
    public async Task Lists_show_a_guest_s_reservations_and_a_day_s_reservations()
    {
        await using var app = await store.StartAsync();
        using var client = app.CreateClient();
        var (ada, grace) = (Guid.NewGuid(), Guid.NewGuid());
        var (day1, day2) = (Bodies.UniqueDay(), Bodies.UniqueDay());
        while (day2 == day1)
        {
            day2 = Bodies.UniqueDay();
        }

        var adaFirst = await client.PlaceAcceptedAsync(Bodies.Valid(day1, guestId: ada));
        var adaSecond = await client.PlaceAcceptedAsync(Bodies.Valid(day2, partySize: 3, guestId: ada));
        var graceFirst = await client.PlaceAcceptedAsync(Bodies.Valid(day1, guestId: grace, guestName: "Grace Hopper", guestEmail: "grace@example.com", guestPhone: null));
        foreach (var placed in new[] { adaFirst, adaSecond, graceFirst })
        {
            Assert.Equal("confirmed", (await client.WaitForOutcomeAsync(placed)).Status);
        }

        var adas = await client.GetGuestReservationsAsync(ada);
        Assert.Equal(new[] { adaFirst.Id, adaSecond.Id }.Order(), adas.Select(r => r.Id).Order());
        Assert.All(adas, r => Assert.Equal(("Ada Lovelace", "confirmed"), (r.GuestName, r.Status)));
        var onDay1 = await client.GetDayReservationsAsync(day1);
        Assert.Equal(new[] { adaFirst.Id, graceFirst.Id }.Order(), onDay1.Select(r => r.Id).Order());
        var grace1 = Assert.Single(onDay1, r => r.GuestId == grace);
        Assert.Equal(("Grace Hopper", "grace@example.com", (string?)null, 2), (grace1.GuestName, grace1.GuestEmail, grace1.GuestPhone, grace1.PartySize));
        Assert.Equal(adaSecond.Id, Assert.Single(await client.GetDayReservationsAsync(day2)).Id);
        Assert.Empty(await client.GetGuestReservationsAsync(Guid.NewGuid()));
        Assert.Empty(await client.GetDayReservationsAsync(Bodies.UniqueDay().AddDays(400_000)));
    }

    [Fact]
    public async Task An_unknown_reservation_is_a_404_problem_everywhere()
    {
        await using var app = await store.StartAsync();
        using var client = app.CreateClient();
        var unknown = Guid.NewGuid();

        using var get = await client.GetAsync(ReservationsApi.Url($"/reservations/{unknown}"), TestContext.Current.CancellationToken);
        using var getAtLeast = await client.GetAsync(ReservationsApi.Url($"/reservations/{unknown}?atLeast=0"), TestContext.Current.CancellationToken);
        using var history = await client.GetAsync(ReservationsApi.Url($"/reservations/{unknown}/history"), TestContext.Current.CancellationToken);
        using var cancel = await client.CancelAsync(unknown);

        var responses = new Dictionary<string, HttpResponseMessage>
        {
            ["GET /reservations/{id}"] = get,
            ["GET /reservations/{id}?atLeast=0"] = getAtLeast,
            ["GET /reservations/{id}/history"] = history,
            ["POST /reservations/{id}/cancel"] = cancel,
        };
        var wrong = responses
            .Where(r => r.Value.StatusCode != HttpStatusCode.NotFound || r.Value.Content.Headers.ContentType?.MediaType != ReservationsApi.ProblemJson)
            .Select(r => $"{r.Key}: {(int)r.Value.StatusCode} {r.Value.Content.Headers.ContentType?.MediaType}")
            .ToList();
        Assert.True(wrong.Count == 0, $"Not a 404 problem+json: {string.Join("; ", wrong)}");
        foreach (var response in responses.Values)
        {
            await response.ReadProblemAsync(HttpStatusCode.NotFound);
        }

        Assert.Equal(0, (await client.GetHealthAsync()).Head);
    }

    [Fact]
    public async Task Each_invalid_field_is_reported_under_its_camel_case_name()
    {
        await using var app = await store.StartAsync();
        using var client = app.CreateClient();
        var day = Bodies.UniqueDay();
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var cases = new (string Field, PlaceReservationBody Body)[]
        {
            ("partySize", Bodies.Valid(day, partySize: 0)),
            ("partySize", Bodies.Valid(day, partySize: 13)),
            ("partySize", Bodies.Valid(day, partySize: -3)),
            ("day", Bodies.Valid(today.AddDays(-1))),
            ("day", Bodies.Valid(DateOnly.MinValue)),
            ("guestName", Bodies.Valid(day, guestName: string.Empty)),
            ("guestName", Bodies.Valid(day, guestName: new string('n', 101))),
            ("guestName", Bodies.Valid(day) with { GuestName = null }),
            ("guestEmail", Bodies.Valid(day, guestEmail: "not-an-email")),
            ("guestEmail", Bodies.Valid(day, guestEmail: string.Empty)),
            ("guestEmail", Bodies.Valid(day) with { GuestEmail = null }),
            ("guestPhone", Bodies.Valid(day, guestPhone: "call me maybe")),
            ("guestId", Bodies.Valid(day, guestId: Guid.Empty)),
        };

        foreach (var (field, body) in cases)
        {
            using var response = await client.PlaceAsync(body);
            var problem = await response.ReadProblemAsync(HttpStatusCode.BadRequest);
            var errors = problem.GetProperty("errors");
            Assert.True(errors.TryGetProperty(field, out var messages), $"{body}: expected an error for '{field}', got {errors}");
            Assert.NotEqual(0, messages.GetArrayLength());
            Assert.Single(errors.EnumerateObject());
        }

        using var allWrong = await client.PlaceAsync(new PlaceReservationBody(Guid.Empty, string.Empty, "nope", "?", today.AddDays(-2), 99));
        var all = (await allWrong.ReadProblemAsync(HttpStatusCode.BadRequest)).GetProperty("errors");
        Assert.Equal(["day", "guestEmail", "guestId", "guestName", "guestPhone", "partySize"], all.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal(0, (await client.GetHealthAsync()).Head);
    }

    [Fact]
    public async Task The_edges_of_the_rules_are_accepted()
    {
        await using var app = await store.StartAsync();
        using var client = app.CreateClient();
        var today = DateOnly.FromDateTime(DateTime.UtcNow);

        await client.PlaceAcceptedAsync(Bodies.Valid(today.AddDays(1), partySize: 1, guestName: "A"));
        await client.PlaceAcceptedAsync(Bodies.Valid(today.AddDays(1), partySize: 12, guestName: new string('n', 100), guestPhone: null));
    }

    [Fact]
    public async Task A_malformed_day_in_the_url_is_a_400_problem()
    {
        await using var app = await store.StartAsync();
        using var client = app.CreateClient();

        foreach (var day in new[] { "2030-02-30", "tomorrow", "2030-1-1", "20300101", "2030-01-01T00:00", "%20" })
        {
            foreach (var path in new[] { $"/days/{day}/availability", $"/days/{day}/reservations" })
            {
                using var response = await client.GetAsync(ReservationsApi.Url(path), TestContext.Current.CancellationToken);
                var problem = await response.ReadProblemAsync(HttpStatusCode.BadRequest);
                Assert.True(problem.GetProperty("errors").TryGetProperty("day", out _), $"{path}: {problem}");
            }
        }
    }

    [Fact]
    public async Task An_untouched_day_has_all_its_seats()
    {
        await using var app = await store.StartAsync(new Dictionary<string, string?> { ["Reservations:SeatsPerDay"] = "17" });
        using var client = app.CreateClient();
        var day = Bodies.UniqueDay();

        Assert.Equal(new Availability(day, 17, 0, 17), await client.GetAvailabilityAsync(day));
        Assert.Empty(await client.GetDayReservationsAsync(day));
    }
}

public sealed class InMemoryReservationFlowTests() : ReservationFlowTests(new InMemoryStore());

public sealed class PostgresReservationFlowTests(PostgresFixture postgres) : ReservationFlowTests(new PostgresStore(postgres));
