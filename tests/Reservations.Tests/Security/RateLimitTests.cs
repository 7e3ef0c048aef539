using System.Globalization;
using System.Net;
using EventSourcing.Tests.Shared.Postgres;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Reservations.Security;
using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.Security;

/// <summary>Writes (place, cancel, forget) are limited per client; over the limit is a 429 problem with Retry-After; reads are not limited.</summary>
public abstract class RateLimitTests(StoreUnderTest store)
{
    private static readonly IPAddress ClientA = IPAddress.Parse("127.0.0.2");
    private static readonly IPAddress ClientB = IPAddress.Parse("127.0.0.3");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_client_over_its_write_limit_gets_a_429_problem_with_retry_after_while_another_client_and_reads_are_unaffected()
    {
        await using var app = await store.StartAsync(new AppSetup(Limit(tokens: 3, perMinute: 1), OverTcp: true));
        using var a = app.CreateClientFrom(ClientA);
        using var b = app.CreateClientFrom(ClientB);
        var day = Bodies.UniqueDay();

        var placed = await a.PlaceAcceptedAsync(Bodies.Valid(day));
        using (var cancelUnknown = await a.CancelAsync(Guid.NewGuid()))
        {
            await cancelUnknown.ReadProblemAsync(HttpStatusCode.NotFound); // refused writes count too
        }

        using (var forget = await a.SendAsync(Forget(Guid.NewGuid()), Ct))
        {
            await forget.ReadProblemAsync(HttpStatusCode.Unauthorized);
        }

        var refusedGuest = Guid.NewGuid();
        foreach (var write in new Func<Task<HttpResponseMessage>>[] { () => a.PlaceAsync(Bodies.Valid(day, guestId: refusedGuest)), () => a.CancelAsync(placed.Id), () => a.SendAsync(Forget(Guid.NewGuid()), Ct) })
        {
            using var refused = await write();
            var problem = await refused.ReadProblemAsync(HttpStatusCode.TooManyRequests);
            var retryAfter = refused.Headers.RetryAfter?.Delta ?? throw new InvalidOperationException("A 429 without a Retry-After in seconds.");
            Assert.InRange(retryAfter, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1));
            Assert.Contains("retry after", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        Assert.Equal("confirmed", (await a.WaitForOutcomeAsync(placed)).Status); // the refused cancel did nothing; reads are not limited
        for (var read = 0; read < 10; read++)
        {
            await a.GetHealthAsync();
            await a.GetAvailabilityAsync(day);
            await a.GetReservationAsync(placed.Id);
        }

        var other = await b.PlaceAcceptedAsync(Bodies.Valid(day)); // another client: a bucket of its own
        await b.WaitForOutcomeAsync(other); // the views have passed every earlier write: the refused placement stored nothing
        Assert.Empty(await a.GetGuestReservationsAsync(refusedGuest));
        using var otherCancel = await b.CancelAsync(other.Id);
        Assert.Equal(HttpStatusCode.OK, otherCancel.StatusCode);
    }

    [Fact]
    public async Task Disabled_the_limit_lets_every_write_through()
    {
        await using var app = await store.StartAsync(new AppSetup(new Dictionary<string, string?> { ["RateLimiting:Writes:Enabled"] = "false", ["RateLimiting:Writes:TokenLimit"] = "1" }, OverTcp: true));
        using var client = app.CreateClientFrom(ClientA);

        var statuses = new List<HttpStatusCode>();
        for (var write = 0; write < 40; write++)
        {
            using var response = await client.CancelAsync(Guid.NewGuid());
            statuses.Add(response.StatusCode);
        }

        Assert.All(statuses, status => Assert.Equal(HttpStatusCode.NotFound, status));
    }

    [Fact]
    public async Task The_defaults_allow_a_burst_of_thirty_writes_then_one_a_second()
    {
        await using var app = await store.StartAsync();

        var options = app.Services.GetRequiredService<IOptions<WriteRateLimitOptions>>().Value;

        Assert.Equal((true, 30, 1, TimeSpan.FromSeconds(1), 0), (options.Enabled, options.TokenLimit, options.TokensPerPeriod, options.ReplenishmentPeriod, options.QueueLimit));
    }

    /// <summary>Settings for a bucket of <paramref name="tokens"/> writes that gets <paramref name="perMinute"/> back a minute.</summary>
    private static Dictionary<string, string?> Limit(int tokens, int perMinute) => new()
    {
        ["Admin:ApiKey"] = ReservationsApp.AdminKey,
        ["RateLimiting:Writes:TokenLimit"] = tokens.ToString(CultureInfo.InvariantCulture),
        ["RateLimiting:Writes:TokensPerPeriod"] = perMinute.ToString(CultureInfo.InvariantCulture),
        ["RateLimiting:Writes:ReplenishmentPeriod"] = "00:01:00",
    };

    private static HttpRequestMessage Forget(Guid guest) => new(HttpMethod.Delete, ReservationsApi.Url($"/guests/{guest}/personal-data"));
}

public sealed class InMemoryRateLimitTests() : RateLimitTests(new InMemoryStore());

public sealed class PostgresRateLimitTests(PostgresFixture postgres) : RateLimitTests(new PostgresStore(postgres));
