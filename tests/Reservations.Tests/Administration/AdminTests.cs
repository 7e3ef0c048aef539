using System.Net;
using System.Text.RegularExpressions;
using EventSourcing.Tests.Shared.Postgres;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using EventSourcing.Reactors;
using Microsoft.Extensions.DependencyInjection;
using Reservations.Administration;
using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.Administration;

/// <summary>GET /admin/projections and the admin API key.</summary>
public abstract class AdminTests(StoreUnderTest store)
{
    [Fact]
    public async Task The_projections_and_the_reactor_report_their_position_head_and_lag_and_catch_up_and_the_reactor_its_node()
    {
        await using var app = await store.StartAsync(new Dictionary<string, string?> { ["Admin:ApiKey"] = ReservationsApp.AdminKey });
        using var client = app.CreateClient();
        var day = Bodies.UniqueDay();
        var placed = await client.PlaceAcceptedAsync(Bodies.Valid(day));
        await client.WaitForOutcomeAsync(placed);
        await client.WaitForAvailabilityAsync(day, a => a.Held == 2, "2 seats held");
        var head = (await client.GetHealthAsync()).Head;

        var statuses = await Eventually.Async(() => ReadProjectionsAsync(client), all => all.All(p => p.Lag == 0), "the projections and the reactor to catch up");

        var projections = statuses.Where(p => p.Lifecycle != "reactor").ToList();
        Assert.Equal(["day-availability", "reservation-details"], projections.Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.All(projections, p =>
        {
            Assert.Equal(("async", "running", 0, 1, (string?)null), (p.Lifecycle, p.State, p.DeadLetters, p.Version, p.Node));
            Assert.Equal((head, head), (p.Position, p.Head));
        });
        var reactor = Assert.Single(statuses, p => p.Lifecycle == "reactor");
        Assert.Equal(("reservation-confirmation", "running", 0, head, head), (reactor.Name, reactor.State, reactor.DeadLetters, reactor.Position, reactor.Head));
        Assert.Equal(app.Services.GetRequiredService<ILeaderElection>().Node, reactor.Node);
        Assert.Equal(statuses.Count - 1, statuses.IndexOf(reactor)); // after the projections, whose rows are as they were
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
    public async Task Every_admin_endpoint_answers_401_with_a_challenge_without_a_key_403_with_a_wrong_one_and_opens_with_the_right_one()
    {
        await using var app = await store.StartAsync(new Dictionary<string, string?> { ["Admin:ApiKey"] = ReservationsApp.AdminKey });
        using var client = app.CreateClient();
        var endpoints = app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>().ToList();
        var admin = endpoints
            .Where(e => e.Metadata.GetMetadata<AdminApiKeyRequired>() is not null)
            .Select(e => (Method: e.Metadata.GetRequiredMetadata<HttpMethodMetadata>().HttpMethods.Single(), Route: e.RoutePattern.RawText ?? string.Empty))
            .Order()
            .ToList();
        Assert.Equal([("DELETE", "/guests/{guestId}/personal-data"), ("GET", "/admin/projections"), ("GET", "/metrics")], admin);
        Assert.All(endpoints.Where(e => e.RoutePattern.RawText?.StartsWith("/admin", StringComparison.OrdinalIgnoreCase) == true), e => Assert.NotNull(e.Metadata.GetMetadata<AdminApiKeyRequired>()));

        var sameLength = new string('x', ReservationsApp.AdminKey.Length);
        foreach (var (method, route) in admin)
        {
            var path = Regex.Replace(route, "{[^}]+}", Guid.NewGuid().ToString());
            foreach (var (key, expected) in new[] { ((string?)null, HttpStatusCode.Unauthorized), (string.Empty, HttpStatusCode.Unauthorized), ("wrong", HttpStatusCode.Forbidden), (sameLength, HttpStatusCode.Forbidden), (ReservationsApp.AdminKey.ToUpperInvariant(), HttpStatusCode.Forbidden) })
            {
                using var request = new HttpRequestMessage(new HttpMethod(method), ReservationsApi.Url(path)).WithApiKey(key);
                using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);
                await response.ReadProblemAsync(expected);
                Assert.Equal(expected == HttpStatusCode.Unauthorized ? AdminApiKeyFilter.Challenge : string.Empty, response.Headers.WwwAuthenticate.ToString());
            }

            using var opened = new HttpRequestMessage(new HttpMethod(method), ReservationsApi.Url(path)).WithApiKey(ReservationsApp.AdminKey);
            using var openedResponse = await client.SendAsync(opened, TestContext.Current.CancellationToken);
            Assert.True(openedResponse.IsSuccessStatusCode, $"{method} {path} with the key: {(int)openedResponse.StatusCode}");
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

    protected static async Task<List<ProjectionStatus>> ReadProjectionsAsync(HttpClient client)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, ReservationsApi.Url("/admin/projections")).WithApiKey(ReservationsApp.AdminKey);
        using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);
        return await response.ReadAsync<List<ProjectionStatus>>(HttpStatusCode.OK);
    }
}

public sealed class InMemoryAdminTests() : AdminTests(new InMemoryStore());

public sealed class PostgresAdminTests(PostgresFixture postgres) : AdminTests(new PostgresStore(postgres))
{
    [Fact]
    public async Task On_two_nodes_both_name_the_node_running_the_reactor_the_other_waits_for_its_decisions_and_runs_it_once_it_stops()
    {
        await using var nodes = await new PostgresStore(postgres).StartNodesAsync(0, new AppSetup());
        var a = await nodes.StartNodeAsync(Named("node-a"));
        var b = await nodes.StartNodeAsync(Named("node-b"));
        using var clientA = a.CreateClient();
        using var clientB = b.CreateClient();

        var named = await Eventually.Async(
            async () => new[] { await ReactorAsync(clientA), await ReactorAsync(clientB) },
            both => both.All(r => r is { State: "running", Node: "node-a" or "node-b" }) && both[0].Node == both[1].Node,
            "both nodes to name the node running the reactor");
        var (leader, survivor, survivorName) = named[0].Node == "node-a" ? (a, clientB, "node-b") : (b, clientA, "node-a");
        var placedOnStandby = await survivor.PlaceAcceptedAsync(Bodies.Valid(Bodies.UniqueDay()));
        var decidedOnStandby = await survivor.GetReservationAsync(placedOnStandby.Id, placedOnStandby.Position, decided: true); // the reactor runs on the other node
        await leader.DisposeAsync();
        var takenOver = await Eventually.Async(() => ReactorAsync(survivor), r => r is { State: "running" } && r.Node == survivorName, "the other node to run the reactor");
        var placed = await survivor.PlaceAcceptedAsync(Bodies.Valid(Bodies.UniqueDay()));

        Assert.Equal(("confirmed", 2L), (decidedOnStandby.Status, decidedOnStandby.Version));
        Assert.Equal("confirmed", (await survivor.WaitForOutcomeAsync(placed)).Status);
        Assert.Equal(survivorName, takenOver.Node);
    }

    private static AppSetup Named(string node) =>
        new(new Dictionary<string, string?> { ["Admin:ApiKey"] = ReservationsApp.AdminKey, ["EventSourcing:NodeName"] = node });

    private static async Task<ProjectionStatus> ReactorAsync(HttpClient client) => Assert.Single(await ReadProjectionsAsync(client), p => p.Lifecycle == "reactor");
}
