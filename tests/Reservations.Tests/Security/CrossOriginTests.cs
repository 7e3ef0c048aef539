using System.Net;
using EventSourcing.Tests.Shared.Postgres;
using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.Security;

/// <summary>CORS: closed unless origins are configured (<c>Cors:AllowedOrigins</c>), and then open to those origins only.</summary>
public abstract class CrossOriginTests(StoreUnderTest store)
{
    private const string Allowed = "https://app.example.com";
    private const string Foreign = "https://evil.example";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Without_configured_origins_no_origin_gets_cross_origin_access()
    {
        await using var app = await store.StartAsync();
        using var client = app.CreateClient();

        foreach (var origin in new[] { Foreign, Allowed, "null", "http://localhost" })
        {
            using var preflight = await client.SendAsync(Preflight(origin, "POST", "content-type, idempotency-key"), Ct);
            using var simple = await client.SendAsync(Get("/health", origin), Ct);

            Assert.Equal(HttpStatusCode.OK, simple.StatusCode);
            Assert.False(preflight.Headers.Contains("Access-Control-Allow-Origin"), $"preflight from {origin}");
            Assert.False(preflight.Headers.Contains("Access-Control-Allow-Methods"), $"preflight from {origin}");
            Assert.False(simple.Headers.Contains("Access-Control-Allow-Origin"), $"GET from {origin}");
        }
    }

    [Fact]
    public async Task A_configured_origin_is_allowed_and_no_other()
    {
        await using var app = await store.StartAsync(new Dictionary<string, string?> { ["Cors:AllowedOrigins:0"] = Allowed });
        using var client = app.CreateClient();

        using var preflight = await client.SendAsync(Preflight(Allowed, "POST", "content-type, idempotency-key, if-match"), Ct);
        Assert.Equal(HttpStatusCode.NoContent, preflight.StatusCode);
        Assert.Equal([Allowed], preflight.Headers.GetValues("Access-Control-Allow-Origin"));
        Assert.Contains("POST", string.Join(",", preflight.Headers.GetValues("Access-Control-Allow-Methods")), StringComparison.Ordinal);
        Assert.False(preflight.Headers.Contains("Access-Control-Allow-Credentials"));

        using var simple = await client.SendAsync(Get("/health", Allowed), Ct);
        Assert.Equal([Allowed], simple.Headers.GetValues("Access-Control-Allow-Origin"));
        Assert.Contains("ETag", string.Join(",", simple.Headers.GetValues("Access-Control-Expose-Headers")), StringComparison.OrdinalIgnoreCase);

        using var problem = await client.SendAsync(Get("/nowhere", Allowed), Ct); // errors are readable by the allowed page too
        await problem.ReadProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal([Allowed], problem.Headers.GetValues("Access-Control-Allow-Origin"));

        foreach (var origin in new[] { Foreign, "https://app.example.com.evil.example", "http://app.example.com", "https://sub.app.example.com", "null" })
        {
            using var foreignPreflight = await client.SendAsync(Preflight(origin, "POST", "content-type"), Ct);
            using var foreignGet = await client.SendAsync(Get("/health", origin), Ct);
            Assert.False(foreignPreflight.Headers.Contains("Access-Control-Allow-Origin"), $"preflight from {origin}");
            Assert.False(foreignGet.Headers.Contains("Access-Control-Allow-Origin"), $"GET from {origin}");
        }

        using var otherMethod = await client.SendAsync(Preflight(Allowed, "PUT", null), Ct); // the browser decides, from the methods allowed
        Assert.Equal(["DELETE", "GET", "POST"], otherMethod.Headers.GetValues("Access-Control-Allow-Methods").SelectMany(m => m.Split(',', StringSplitOptions.TrimEntries)).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_star_opens_the_API_to_every_origin_without_credentials()
    {
        await using var app = await store.StartAsync(new Dictionary<string, string?> { ["Cors:AllowedOrigins:0"] = "*" });
        using var client = app.CreateClient();

        using var preflight = await client.SendAsync(Preflight(Foreign, "DELETE", "x-api-key"), Ct);
        using var simple = await client.SendAsync(Get("/health", Foreign), Ct);

        Assert.Equal(["*"], preflight.Headers.GetValues("Access-Control-Allow-Origin"));
        Assert.Equal(["*"], simple.Headers.GetValues("Access-Control-Allow-Origin"));
        Assert.False(simple.Headers.Contains("Access-Control-Allow-Credentials"));
    }

    private static HttpRequestMessage Preflight(string origin, string method, string? headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Options, ReservationsApi.Url("/reservations"));
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", method);
        if (headers is not null)
        {
            request.Headers.Add("Access-Control-Request-Headers", headers);
        }

        return request;
    }

    private static HttpRequestMessage Get(string path, string origin)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, ReservationsApi.Url(path));
        request.Headers.Add("Origin", origin);
        return request;
    }
}

public sealed class InMemoryCrossOriginTests() : CrossOriginTests(new InMemoryStore());

public sealed class PostgresCrossOriginTests(PostgresFixture postgres) : CrossOriginTests(new PostgresStore(postgres));
