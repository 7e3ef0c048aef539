using System.Net;
using System.Text.Json;
using EventSourcing.Projections;
using EventSourcing.Reactors;
using EventSourcing.Tests.Shared.Postgres;
using Microsoft.Extensions.DependencyInjection;
using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.Hosting;

/// <summary>The probes: <c>/health/live</c>, <c>/health/ready</c> (the library's health checks) and <c>/metrics</c> (Prometheus, behind the admin key).</summary>
public abstract class ProbeTests(StoreUnderTest store)
{
    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Live_answers_200_while_the_process_runs()
    {
        await using var app = await store.StartAsync();
        using var client = app.CreateClient();

        var (status, live) = await ProbeAsync(client, "/health/live");

        Assert.Equal((HttpStatusCode.OK, "healthy"), (status, live.Status));
        Assert.Equal(["eventsourcing-process"], live.Checks.Keys);
    }

    [Fact]
    public async Task Ready_answers_200_with_the_head_and_each_projections_and_the_reactors_state_and_lag()
    {
        await using var app = await store.StartAsync();
        using var client = app.CreateClient();
        var placed = await client.PlaceAcceptedAsync(Bodies.Valid(Bodies.UniqueDay()));
        await client.WaitForOutcomeAsync(placed);

        var (status, ready) = await Eventually.Async(() => ProbeAsync(client, "/health/ready"), r => r.Status == HttpStatusCode.OK && Lags(r.Report).Values.All(lag => lag == 0), "every follower at the head");

        Assert.Equal("healthy", ready.Status);
        Assert.Equal(["eventsourcing-followers", "eventsourcing-store"], ready.Checks.Keys.Order(StringComparer.Ordinal));
        Assert.True(ready.Checks["eventsourcing-store"].Data.GetProperty("head").GetInt64() > placed.Position);
        var followers = ready.Checks["eventsourcing-followers"].Data;
        Assert.Equal(["day-availability", "reservation-confirmation", "reservation-details"], followers.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.All(followers.EnumerateObject(), p => Assert.Equal("running", p.Value.GetProperty("state").GetString()));
        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Fact]
    public async Task Metrics_need_the_admin_key_and_then_hold_the_requests_durations()
    {
        await using var app = await store.StartAsync(new Dictionary<string, string?> { ["Admin:ApiKey"] = ReservationsApp.AdminKey });
        using var client = app.CreateClient();
        await client.GetHealthAsync(); // a request, measured by ASP.NET Core

        foreach (var (key, expected) in new[] { ((string?)null, HttpStatusCode.Unauthorized), ("wrong-key", HttpStatusCode.Forbidden) })
        {
            using var refused = await MetricsAsync(client, key);
            await refused.ReadProblemAsync(expected);
        }

        var text = await MetricsTextAsync(client);

        Assert.Contains("http_server_request_duration_seconds", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_hold_the_library_s_instruments_under_the_names_the_dashboard_recipe_uses()
    {
        await using var app = await store.StartAsync(new Dictionary<string, string?> { ["Admin:ApiKey"] = ReservationsApp.AdminKey });
        using var client = app.CreateClient();
        var placed = await client.PlaceAcceptedAsync(Bodies.Valid(Bodies.UniqueDay()));
        await client.WaitForOutcomeAsync(placed);
        string[] names =
        [
            "eventsourcing_command_duration_seconds_bucket{", "eventsourcing_command_duration_seconds_count{",
            "eventsourcing_events_appended_total{", "eventsourcing_append_duration_seconds_bucket{",
            "eventsourcing_follower_lag{", "eventsourcing_follower_lag_time_seconds{", "eventsourcing_key_cache_lookups_total{",
        ];

        // The lag gauges report once the library has read the followers' status (at once, then every 5 seconds).
        var text = await Eventually.Async(() => MetricsTextAsync(client), t => names.All(n => t.Contains(n, StringComparison.Ordinal)), "every instrument of the recipe exported", ReservationsApi.Patience, TimeSpan.FromMilliseconds(250));

        Assert.Contains("eventsourcing_command_outcome=\"succeeded\"", text, StringComparison.Ordinal);
        Assert.Contains("eventsourcing_command_type=\"PlaceReservation\"", text, StringComparison.Ordinal);
        Assert.Contains("eventsourcing_follower_name=\"reservation-confirmation\"", text, StringComparison.Ordinal);
    }

    protected static async Task<string> MetricsTextAsync(HttpClient client)
    {
        using var response = await MetricsAsync(client, ReservationsApp.AdminKey);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadAsStringAsync(Ct);
    }

    protected static async Task<(HttpStatusCode Status, Report Report)> ProbeAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(ReservationsApi.Url(path), Ct);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return (response.StatusCode, JsonSerializer.Deserialize<Report>(await response.Content.ReadAsStringAsync(Ct), ReservationsApi.Json)!);
    }

    private static async Task<HttpResponseMessage> MetricsAsync(HttpClient client, string? key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, ReservationsApi.Url("/metrics")).WithApiKey(key);
        return await client.SendAsync(request, Ct);
    }

    private static Dictionary<string, long> Lags(Report report) =>
        report.Checks.TryGetValue("eventsourcing-followers", out var followers) && followers.Data.ValueKind == JsonValueKind.Object
            ? followers.Data.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetProperty("lag").GetInt64())
            : new Dictionary<string, long> { ["(none)"] = -1 };

    protected sealed record Report(string Status, Dictionary<string, Check> Checks);

    protected sealed record Check(string Status, string? Description, JsonElement Data);
}

public sealed class InMemoryProbeTests() : ProbeTests(new InMemoryStore())
{
    /// <summary>
    /// The reactor stopped at a poison event, as its poison policy <c>Stop</c> leaves it: a dead letter past its checkpoint
    /// (the sample's reactor dead-letters instead, so the letter is written as the runner would write it).
    /// </summary>
    [Fact]
    public async Task A_stopped_reactor_makes_ready_answer_503_unhealthy_naming_it()
    {
        await using var app = await new InMemoryStore().StartAsync();
        using var client = app.CreateClient();
        var (before, _) = await Eventually.Async(() => ProbeAsync(client, "/health/ready"), r => r.Status == HttpStatusCode.OK, "ready");
        var checkpoints = app.Services.GetRequiredService<IProjectionStore>();
        var name = Reactor.CheckpointNameOf("reservation-confirmation");
        var state = await checkpoints.ReadStateAsync(name, Ct);
        var batch = await checkpoints.BeginAsync(name, state.ServingGeneration, Ct);
        await using (batch)
        {
            batch.DeadLetter(new DeadLetter(name, state.ServingPosition + 1, Guid.NewGuid(), "reservation-poison", "reservation-placed.v1", "JsonException: unreadable", DateTimeOffset.UtcNow));
            await batch.CommitAsync(Ct);
        }

        var (status, ready) = await ProbeAsync(client, "/health/ready");

        Assert.Equal(HttpStatusCode.OK, before);
        Assert.Equal((HttpStatusCode.ServiceUnavailable, "unhealthy"), (status, ready.Status));
        var followers = ready.Checks["eventsourcing-followers"];
        Assert.Equal("unhealthy", followers.Status);
        Assert.Equal("The reactor reservation-confirmation is stopped.", followers.Description);
        Assert.Equal("stopped", followers.Data.GetProperty("reservation-confirmation").GetProperty("state").GetString());
        Assert.Equal("healthy", ready.Checks["eventsourcing-store"].Status);
        Assert.Equal(HttpStatusCode.OK, (await ProbeAsync(client, "/health/live")).Status); // alive all the same
    }
}

public sealed class PostgresProbeTests(PostgresFixture postgres) : ProbeTests(new PostgresStore(postgres))
{
    [Fact]
    public async Task Metrics_on_PostgreSQL_hold_Npgsqls()
    {
        await using var app = await new PostgresStore(postgres).StartAsync(new Dictionary<string, string?> { ["Admin:ApiKey"] = ReservationsApp.AdminKey });
        using var client = app.CreateClient();
        await client.PlaceAcceptedAsync(Bodies.Valid(Bodies.UniqueDay()));

        var text = await MetricsTextAsync(client);

        Assert.Contains("db_client_commands_duration_seconds_count", text, StringComparison.Ordinal); // as docs/observability.md's recipe names it
    }
}
