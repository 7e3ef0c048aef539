using System.Net;
using EventSourcing.Tests.Shared.Postgres;
using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.Privacy;

/// <summary>DELETE /guests/{guestId}/personal-data: the guest's name, e-mail and phone read as "[erased]" everywhere.</summary>
public abstract class ForgettingGuestTests(StoreUnderTest store)
{
    private const string Erased = "[erased]";

    [Fact]
    public async Task Forgetting_a_guest_erases_their_personal_data_from_views_lists_and_history_and_nobody_else_s()
    {
        await using var app = await store.StartAsync(new Dictionary<string, string?> { ["Admin:ApiKey"] = ReservationsApp.AdminKey });
        using var client = app.CreateClient();
        var (ada, grace) = (Guid.NewGuid(), Guid.NewGuid());
        var (day, otherDay) = (Bodies.UniqueDay(), Bodies.UniqueDay());
        var adaFirst = await client.PlaceAcceptedAsync(Bodies.Valid(day, guestId: ada));
        var adaSecond = await client.PlaceAcceptedAsync(Bodies.Valid(otherDay, partySize: 5, guestId: ada, guestPhone: null));
        var graces = await client.PlaceAcceptedAsync(Bodies.Valid(day, guestId: grace, guestName: "Grace Hopper", guestEmail: "grace@example.com", guestPhone: "+1 555 0100"));
        foreach (var placed in new[] { adaFirst, adaSecond, graces })
        {
            Assert.Equal("confirmed", (await client.WaitForOutcomeAsync(placed)).Status);
        }

        using (var forget = await client.SendAsync(Forget(ada, ReservationsApp.AdminKey), TestContext.Current.CancellationToken))
        {
            Assert.Equal(HttpStatusCode.NoContent, forget.StatusCode);
        }

        var first = await client.GetReservationAsync(adaFirst.Id);
        Assert.Equal((ada, Erased, Erased, Erased), (first.GuestId, first.GuestName, first.GuestEmail, first.GuestPhone));
        Assert.Equal(("confirmed", day, 2, 2L), (first.Status, first.Day, first.PartySize, first.Version));
        var second = await client.GetReservationAsync(adaSecond.Id);
        Assert.Equal((Erased, Erased, (string?)null), (second.GuestName, second.GuestEmail, second.GuestPhone));
        Assert.Equal(5, second.PartySize);

        var adas = await client.GetGuestReservationsAsync(ada);
        Assert.Equal(2, adas.Count);
        Assert.All(adas, r => Assert.Equal((Erased, Erased), (r.GuestName, r.GuestEmail)));
        var onDay = await client.GetDayReservationsAsync(day);
        Assert.Equal((Erased, Erased, Erased), onDay.Where(r => r.GuestId == ada).Select(r => (r.GuestName, r.GuestEmail, r.GuestPhone)).Single());
        Assert.Equal(("Grace Hopper", "grace@example.com", "+1 555 0100"), onDay.Where(r => r.GuestId == grace).Select(r => (r.GuestName, r.GuestEmail, r.GuestPhone)).Single());

        var adaHistory = await client.GetHistoryAsync(adaFirst.Id);
        var placedData = adaHistory[0].Data;
        Assert.Equal("reservation-placed.v1", adaHistory[0].Type);
        Assert.Equal((Erased, Erased, Erased), (placedData.GetProperty("guestName").GetString(), placedData.GetProperty("guestEmail").GetString(), placedData.GetProperty("guestPhone").GetString()));
        Assert.Equal(ada, placedData.GetProperty("guestId").GetGuid());
        Assert.Equal(2, placedData.GetProperty("partySize").GetInt32());
        Assert.DoesNotContain("Ada Lovelace", System.Text.Json.JsonSerializer.Serialize(await client.GetHistoryAsync(adaSecond.Id), ReservationsApi.Json), StringComparison.Ordinal);
        var graceData = (await client.GetHistoryAsync(graces.Id))[0].Data;
        Assert.Equal(("Grace Hopper", "grace@example.com"), (graceData.GetProperty("guestName").GetString(), graceData.GetProperty("guestEmail").GetString()));

        // Still a working reservation: it can be cancelled, and its seats come back.
        using var cancel = await client.CancelAsync(adaFirst.Id, "\"2\"");
        Assert.Equal("cancelled", (await cancel.ReadAsync<Cancelled>(HttpStatusCode.OK)).Status);
        Assert.Equal(new Availability(day, 40, 2, 38), await client.WaitForAvailabilityAsync(day, a => a.Held == 2, "Ada's seats released"));
    }

    [Fact]
    public async Task Forgetting_is_harmless_twice_and_for_an_unknown_guest()
    {
        await using var app = await store.StartAsync(new Dictionary<string, string?> { ["Admin:ApiKey"] = ReservationsApp.AdminKey });
        using var client = app.CreateClient();
        var guest = Guid.NewGuid();
        var placed = await client.PlaceAcceptedAsync(Bodies.Valid(Bodies.UniqueDay(), guestId: guest));
        await client.WaitForOutcomeAsync(placed);

        foreach (var subject in new[] { guest, guest, Guid.NewGuid() })
        {
            using var forget = await client.SendAsync(Forget(subject, ReservationsApp.AdminKey), TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.NoContent, forget.StatusCode);
        }

        Assert.Equal("[erased]", (await client.GetReservationAsync(placed.Id)).GuestName);
    }

    [Fact]
    public async Task Forgetting_needs_the_admin_api_key()
    {
        await using var app = await store.StartAsync(new Dictionary<string, string?> { ["Admin:ApiKey"] = ReservationsApp.AdminKey });
        using var client = app.CreateClient();
        var guest = Guid.NewGuid();
        var placed = await client.PlaceAcceptedAsync(Bodies.Valid(Bodies.UniqueDay(), guestId: guest));
        await client.WaitForOutcomeAsync(placed);

        foreach (var (key, expected) in new[] { ((string?)null, HttpStatusCode.Unauthorized), (string.Empty, HttpStatusCode.Unauthorized), ("wrong-key", HttpStatusCode.Forbidden), (ReservationsApp.AdminKey + "x", HttpStatusCode.Forbidden), (ReservationsApp.AdminKey.ToUpperInvariant(), HttpStatusCode.Forbidden) })
        {
            using var response = await client.SendAsync(Forget(guest, key), TestContext.Current.CancellationToken);
            await response.ReadProblemAsync(expected);
        }

        Assert.Equal("Ada Lovelace", (await client.GetReservationAsync(placed.Id)).GuestName);
    }

    [Fact]
    public async Task Without_a_configured_key_forgetting_is_closed()
    {
        await using var app = await store.StartAsync();
        using var client = app.CreateClient();
        var guest = Guid.NewGuid();
        var placed = await client.PlaceAcceptedAsync(Bodies.Valid(Bodies.UniqueDay(), guestId: guest));
        await client.WaitForOutcomeAsync(placed);

        using (var anyKey = await client.SendAsync(Forget(guest, ReservationsApp.AdminKey), TestContext.Current.CancellationToken))
        {
            await anyKey.ReadProblemAsync(HttpStatusCode.Forbidden);
        }

        using (var noKey = await client.SendAsync(Forget(guest, null), TestContext.Current.CancellationToken))
        {
            await noKey.ReadProblemAsync(HttpStatusCode.Unauthorized);
        }

        Assert.Equal("Ada Lovelace", (await client.GetReservationAsync(placed.Id)).GuestName);
    }

    private static HttpRequestMessage Forget(Guid guest, string? key) =>
        new HttpRequestMessage(HttpMethod.Delete, ReservationsApi.Url($"/guests/{guest}/personal-data")).WithApiKey(key);
}

public sealed class InMemoryForgettingGuestTests() : ForgettingGuestTests(new InMemoryStore());

public sealed class PostgresForgettingGuestTests(PostgresFixture postgres) : ForgettingGuestTests(new PostgresStore(postgres));
