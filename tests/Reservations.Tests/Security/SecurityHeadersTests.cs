using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using EventSourcing.Tests.Shared.Postgres;
using Microsoft.AspNetCore.Mvc.Testing;
using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.Security;

/// <summary>Every response carries the security headers, errors included; the API reference page alone gets a CSP that lets it run.</summary>
public abstract class SecurityHeadersTests(StoreUnderTest store)
{
    private const string ApiPolicy = "default-src 'none'; frame-ancestors 'none'";
    private const string Hsts = "Strict-Transport-Security";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Every_kind_of_response_has_the_security_headers_and_no_store()
    {
        Case[] cases =
        [
            new("health", HttpMethod.Get, "/health", HttpStatusCode.OK),
            new("OpenAPI document", HttpMethod.Get, "/openapi/v1.json", HttpStatusCode.OK),
            new("placed", HttpMethod.Post, "/reservations", HttpStatusCode.Accepted, () => JsonContent.Create(Bodies.Valid(Bodies.UniqueDay()), options: ReservationsApi.Json)),
            new("broken JSON", HttpMethod.Post, "/reservations", HttpStatusCode.BadRequest, () => new StringContent("{", Encoding.UTF8, "application/json")),
            new("body too large", HttpMethod.Post, "/reservations", HttpStatusCode.RequestEntityTooLarge, () => new StringContent(new string('x', 100 * 1024), Encoding.UTF8, "application/json")),
            new("unknown charset", HttpMethod.Post, "/reservations", HttpStatusCode.UnsupportedMediaType, () => new StringContent("{}", Encoding.UTF8, "application/json") { Headers = { ContentType = new("application/json") { CharSet = "klingon" } } }),
            new("forgotten", HttpMethod.Delete, $"/guests/{Guid.NewGuid()}/personal-data", HttpStatusCode.NoContent, ApiKey: ReservationsApp.AdminKey),
            new("too many writes", HttpMethod.Post, $"/reservations/{Guid.NewGuid()}/cancel", HttpStatusCode.TooManyRequests),
            new("unknown route", HttpMethod.Get, "/nowhere", HttpStatusCode.NotFound),
            new("unknown reservation", HttpMethod.Get, $"/reservations/{Guid.NewGuid()}", HttpStatusCode.NotFound),
            new("wrong method", HttpMethod.Put, "/health", HttpStatusCode.MethodNotAllowed),
            new("admin without a key", HttpMethod.Get, "/admin/projections", HttpStatusCode.Unauthorized),
            new("admin with a wrong key", HttpMethod.Get, "/admin/projections", HttpStatusCode.Forbidden, ApiKey: "wrong"),
            new("admin", HttpMethod.Get, "/admin/projections", HttpStatusCode.OK, ApiKey: ReservationsApp.AdminKey),
        ];
        var writesBefore429 = cases.TakeWhile(c => c.Expected != HttpStatusCode.TooManyRequests).Count(c => c.Method == HttpMethod.Post || c.Method == HttpMethod.Delete);
        await using var app = await store.StartAsync(new Dictionary<string, string?>
        {
            ["Admin:ApiKey"] = ReservationsApp.AdminKey,
            ["RateLimiting:Writes:TokenLimit"] = writesBefore429.ToString(CultureInfo.InvariantCulture),
            ["RateLimiting:Writes:ReplenishmentPeriod"] = "01:00:00",
        });
        using var client = app.CreateClient();

        foreach (var @case in cases)
        {
            using var request = @case.ToMessage();
            using var response = await client.SendAsync(request, Ct);
            Assert.True(response.StatusCode == @case.Expected, $"{@case.Name}: {(int)response.StatusCode}, expected {(int)@case.Expected}");
            AssertSecure(response, @case.Name, ApiPolicy);
            Assert.True(response.Headers.CacheControl?.ToString() == "no-store", $"{@case.Name}: Cache-Control {response.Headers.CacheControl}");
            Assert.False(response.Headers.Contains(Hsts), $"{@case.Name}: HSTS in Development");
        }
    }

    [Fact]
    public async Task The_API_reference_page_may_run_its_own_scripts_and_styles_and_nothing_from_elsewhere()
    {
        await using var app = await store.StartAsync();
        using var client = app.CreateClient();

        using var page = await client.GetAsync(ReservationsApi.Url("/scalar/v1"), Ct);

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var policy = Csp(page);
        AssertSecure(page, "API reference", policy);
        var directives = policy.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToDictionary(d => d.Split(' ')[0], d => d);
        Assert.Equal("default-src 'none'", directives["default-src"]);
        Assert.Equal("script-src 'self' 'unsafe-inline'", directives["script-src"]);
        Assert.Equal("connect-src 'self'", directives["connect-src"]);
        Assert.Equal("frame-ancestors 'none'", directives["frame-ancestors"]);
        Assert.DoesNotContain("http", policy, StringComparison.OrdinalIgnoreCase); // no other host, no CDN
        Assert.DoesNotContain("*", policy, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-eval", policy, StringComparison.Ordinal);

        using var script = await client.GetAsync(ReservationsApi.Url("/scalar/scalar.js"), Ct);
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        AssertSecure(script, "API reference script", policy);
    }

    [Fact]
    public async Task Outside_Development_HTTPS_responses_carry_HSTS_and_plain_HTTP_ones_do_not()
    {
        await using var app = await store.StartAsync(new Dictionary<string, string?> { ["environment"] = "Production" });
        using var https = app.CreateClient(new WebApplicationFactoryClientOptions { BaseAddress = new Uri("https://reservations.example/") });
        using var http = app.CreateClient(new WebApplicationFactoryClientOptions { BaseAddress = new Uri("http://reservations.example/") });

        foreach (var path in new[] { "/health", "/nowhere", "/scalar/v1" })
        {
            using var secure = await https.GetAsync(ReservationsApi.Url(path), Ct);
            using var plain = await http.GetAsync(ReservationsApi.Url(path), Ct);

            Assert.Equal("max-age=31536000", string.Join(",", secure.Headers.GetValues(Hsts)));
            Assert.False(plain.Headers.Contains(Hsts), path);
        }
    }

    [Fact]
    public async Task Kestrel_sends_no_Server_header()
    {
        await using var app = await store.StartAsync(new AppSetup(OverTcp: true));
        using var client = app.CreateClientFrom(IPAddress.Loopback);

        foreach (var path in new[] { "/health", "/nowhere", "/scalar/v1" })
        {
            using var response = await client.GetAsync(ReservationsApi.Url(path), Ct);

            Assert.False(response.Headers.Contains("Server"), $"{path}: Server: {response.Headers.Server}");
            AssertSecure(response, path, Csp(response));
        }
    }

    private sealed record Case(string Name, HttpMethod Method, string Path, HttpStatusCode Expected, Func<HttpContent>? Body = null, string? ApiKey = null)
    {
        public HttpRequestMessage ToMessage() => new HttpRequestMessage(Method, ReservationsApi.Url(Path)) { Content = Body?.Invoke() }.WithApiKey(ApiKey);
    }

    private static void AssertSecure(HttpResponseMessage response, string name, string policy)
    {
        Assert.True(Header(response, "X-Content-Type-Options") == "nosniff", $"{name}: X-Content-Type-Options");
        Assert.True(Header(response, "X-Frame-Options") == "DENY", $"{name}: X-Frame-Options");
        Assert.True(Header(response, "Referrer-Policy") == "no-referrer", $"{name}: Referrer-Policy");
        Assert.True(Csp(response) == policy, $"{name}: Content-Security-Policy '{Csp(response)}'");
        Assert.False(response.Headers.Contains("Server"), $"{name}: Server");
    }

    private static string Csp(HttpResponseMessage response) => Header(response, "Content-Security-Policy") ?? string.Empty;

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : null;
}

public sealed class InMemorySecurityHeadersTests() : SecurityHeadersTests(new InMemoryStore());

public sealed class PostgresSecurityHeadersTests(PostgresFixture postgres) : SecurityHeadersTests(new PostgresStore(postgres));
