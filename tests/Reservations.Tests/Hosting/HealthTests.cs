using System.Net;
using System.Text.Json;
using EventSourcing.Tests.Shared.Postgres;
using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.Hosting;

/// <summary>The app starts on each store, reports its health, and serves its API description.</summary>
public abstract class HealthTests(StoreUnderTest store)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_fresh_app_reports_healthy_at_head_0_and_the_head_follows_the_writes()
    {
        await using var app = await store.StartAsync();
        using var client = app.CreateClient();

        Assert.Equal(new Health("healthy", 0), await client.GetHealthAsync());

        var placed = await client.PlaceAcceptedAsync(Bodies.Valid(Bodies.UniqueDay()));
        Assert.True((await client.GetHealthAsync()).Head >= placed.Position);
        await client.WaitForOutcomeAsync(placed);
        Assert.True((await client.GetHealthAsync()).Head > placed.Position);
    }

    [Fact]
    public async Task The_OpenAPI_document_describes_every_endpoint()
    {
        await using var app = await store.StartAsync();
        using var client = app.CreateClient();

        using var response = await client.GetAsync(ReservationsApi.Url("/openapi/v1.json"), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        Assert.StartsWith("3.", document.RootElement.GetProperty("openapi").GetString(), StringComparison.Ordinal);
        var paths = document.RootElement.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();
        Assert.Superset(
            new HashSet<string>
            {
                "/reservations", "/reservations/{id}", "/reservations/{id}/cancel", "/reservations/{id}/history", "/days/{day}/availability",
                "/days/{day}/reservations", "/guests/{guestId}/reservations", "/guests/{guestId}/personal-data", "/admin/projections", "/health",
            },
            paths.ToHashSet());
    }

    [Fact]
    public async Task The_API_reference_is_served()
    {
        await using var app = await store.StartAsync();
        using var client = app.CreateClient();

        using var response = await client.GetAsync(ReservationsApi.Url("/scalar/v1"), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<html", await response.Content.ReadAsStringAsync(Ct), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task An_unknown_route_is_a_404_problem()
    {
        await using var app = await store.StartAsync();
        using var client = app.CreateClient();

        foreach (var path in new[] { "/nowhere", "/openapi/v2.json", "/openapi/%3Cscript%3E.json" })
        {
            using var response = await client.GetAsync(ReservationsApi.Url(path), Ct);

            var problem = await response.ReadProblemAsync(HttpStatusCode.NotFound);
            Assert.DoesNotContain("script", problem.ToString(), StringComparison.OrdinalIgnoreCase); // nothing of the request echoed back
        }
    }
}

public sealed class InMemoryHealthTests() : HealthTests(new InMemoryStore());

public sealed class PostgresHealthTests(PostgresFixture postgres) : HealthTests(new PostgresStore(postgres));
