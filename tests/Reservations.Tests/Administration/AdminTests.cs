using System.Net;
using EventSourcing.Tests.Shared.Postgres;
using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.Administration;

/// <summary>GET /admin/projections and the admin API key.</summary>
public abstract class AdminTests(StoreUnderTest store)
{
    [Fact]
    public async Task The_projections_report_their_position_head_and_lag_and_catch_up()
    {
        await using var app = await store.StartAsync(new Dictionary<string, string?> { ["Admin:ApiKey"] = ReservationsApp.AdminKey });
        using var client = app.CreateClient();
        var day = Bodies.UniqueDay();
        var placed = await client.PlaceAcceptedAsync(Bodies.Valid(day));
        await client.WaitForOutcomeAsync(placed);
        await client.WaitForAvailabilityAsync(day, a => a.Held == 2, "2 seats held");
        var head = (await client.GetHealthAsync()).Head;

        var statuses = await Eventually.Async(() => ReadProjectionsAsync(client), all => all.All(p => p.Lag == 0), "the projections to catch up");

        Assert.Equal(["day-availability", "reservation-details"], statuses.Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.All(statuses, p =>
        {
            Assert.Equal(("async", "running", 0, 1), (p.Lifecycle, p.State, p.DeadLetters, p.Version));
            Assert.Equal((head, head), (p.Position, p.Head));
        });
        Assert.True(head >= 3, $"head {head}: placed, seats held, confirmed");
    }

    [Fact]
    public async Task Admin_endpoints_need_the_right_key()
    {
        await using var app = await store.StartAsync(new Dictionary<string, string?> { ["Admin:ApiKey"] = ReservationsApp.AdminKey });
        using var client = app.CreateClient();

        foreach (var (key, expected) in new[] { ((string?)null, HttpStatusCode.Unauthorized), (string.Empty, HttpStatusCode.Unauthorized), ("wrong-key", HttpStatusCode.Forbidden), (ReservationsApp.AdminKey[..^1], HttpStatusCode.Forbidden) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, ReservationsApi.Url("/admin/projections")).WithApiKey(key);
            using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);
            await response.ReadProblemAsync(expected);
        }
    }

    [Fact]
    public async Task Without_a_configured_key_admin_endpoints_are_forbidden()
    {
        await using var app = await store.StartAsync();
        using var client = app.CreateClient();

        using var request = new HttpRequestMessage(HttpMethod.Get, ReservationsApi.Url("/admin/projections")).WithApiKey("any-key");
        using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);

        await response.ReadProblemAsync(HttpStatusCode.Forbidden);
    }

    private static async Task<List<ProjectionStatus>> ReadProjectionsAsync(HttpClient client)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, ReservationsApi.Url("/admin/projections")).WithApiKey(ReservationsApp.AdminKey);
        using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);
        return await response.ReadAsync<List<ProjectionStatus>>(HttpStatusCode.OK);
    }
}

public sealed class InMemoryAdminTests() : AdminTests(new InMemoryStore());

public sealed class PostgresAdminTests(PostgresFixture postgres) : AdminTests(new PostgresStore(postgres));
