using System.Net;
using EventSourcing.Testing.Postgres;
using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.Faults;

/// <summary>
/// PostgreSQL stopped (immediately, as a crash) and started again while clients place and read reservations against
/// the sample API running as a process: while it is down every answer is a prompt 503 problem with Retry-After, after it
/// returns the API serves again without a restart, and nothing acknowledged is lost.
/// </summary>
public sealed class PostgresOutageTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 300_000)]
    public async Task Under_load_a_PostgreSQL_outage_is_503_while_it_lasts_then_the_API_recovers_without_restart_and_loses_nothing()
    {
        await using var server = await PostgresServer.StartAsync(new PostgresServerOptions { Restartable = true }, Ct);
        await using var run = await LoadedSample.StartAsync(await server.CreateDatabaseAsync("outage", Ct));
        var load = run.Load;

        await run.WaitForAcknowledgedAsync(60, TimeSpan.Zero, "before the outage");
        await server.StopAsync(PostgresStopMode.Immediate, Ct);
        var down = run.Now;
        await load.WaitUntilAsync(
            o => o.Where(r => r.Sent >= down).Count(Outcome.Place) >= 40 && o.Count(r => r.Sent >= down && r.Kind != Outcome.Place) >= 20,
            LoadedSample.Patience,
            "40 placements and 20 reads sent during the outage");
        var probes = await ProbeAsync(run.Client, load.Acknowledged.Values.First(), run.Days[0]);
        var restarting = run.Now;
        await server.StartAgainAsync(Ct);
        var up = run.Now;
        await Eventually.Async(() => StatusAsync(run.Client, "/health"), s => s == HttpStatusCode.OK, "/health to answer 200", LoadedSample.Patience, TimeSpan.FromMilliseconds(20));
        var healthy = run.Now;
        var headAtUp = (await run.Client.GetOkAsync<Health>("/health")).Head;
        await Eventually.Async(run.ProjectionsAsync, ps => ps.All(p => p.Position >= headAtUp), $"the projections to pass position {headAtUp}", LoadedSample.Patience, TimeSpan.FromMilliseconds(50));
        var projected = run.Now;
        await run.WaitForAcknowledgedAsync(60, up, "after the outage");
        var (sentAgain, verdict) = await run.StopAndCheckAsync();

        var outcomes = load.Outcomes.ToList();
        var outage = outcomes.Where(o => o.Sent >= down && o.Answered <= restarting).ToList();
        var recovered = outcomes.Where(o => o.Acknowledged && o.Answered >= restarting).Min(o => o.Answered);
        LoadFigures.Print("PostgreSQL stopped (immediate) and started again under load", load,
        [
            ("timeline (s): PostgreSQL stopped, starting again, accepting connections", $"{LoadFigures.Seconds(down)}, {LoadFigures.Seconds(restarting)}, {LoadFigures.Seconds(up)}"),
            ("outage (PostgreSQL refusing connections), s", LoadFigures.Seconds(restarting - down)),
            ("requests answered during the outage", outage.Count),
            ("of which 503 problem+json with Retry-After", outage.Count(IsUnavailableProblem)),
            ("max latency during the outage (ms)", LoadFigures.Milliseconds(outage.MaxLatency())),
            ("first 2xx after PostgreSQL accepted connections (ms)", LoadFigures.Milliseconds(recovered > up ? recovered - up : TimeSpan.Zero)),
            ("/health 200 after PostgreSQL accepted connections (ms)", LoadFigures.Milliseconds(healthy - up)),
            ("async projections past the head of the log after PostgreSQL accepted connections (ms)", LoadFigures.Milliseconds(projected - up)),
            .. verdict.Figures,
        ]);

        verdict.AssertNothingWrong();
        Assert.All(outcomes, o => Assert.True(o.Status is 200 or 202 or 503, $"{o.Kind} sent at {o.Sent} answered {o.Answer}"));
        Assert.True(outage.Count >= 60, $"only {outage.Count} requests were answered while PostgreSQL was down");
        Assert.All(outage, o => Assert.True(IsUnavailableProblem(o), $"{o.Kind} during the outage answered {o.Status} {o.ContentType}, Retry-After: {o.RetryAfter}"));
        Assert.All(probes, p => Assert.True(p.Status == HttpStatusCode.ServiceUnavailable && p.Problem && p.RetryAfter, $"{p.Path} during the outage answered {(int)p.Status}, problem: {p.Problem}, Retry-After: {p.RetryAfter}"));
        Assert.All(sentAgain, r => Assert.True(r.Acknowledged, $"a placement sent again after the outage answered {r.Answer}"));
        Assert.Empty(load.Unacknowledged);
        Assert.False(run.Sample.HasExited, run.Sample.OutputTail);
    }

    private static async Task<HttpStatusCode> StatusAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(ReservationsApi.Url(path), Ct);
        return response.StatusCode;
    }

    private static bool IsUnavailableProblem(Outcome outcome) =>
        outcome.Status == 503 && outcome.ContentType == ReservationsApi.ProblemJson && outcome.RetryAfter;

    /// <summary>Every kind of read the API serves, once, with what came back.</summary>
    private static async Task<List<(string Path, HttpStatusCode Status, bool Problem, bool RetryAfter)>> ProbeAsync(HttpClient client, Placed placed, DateOnly day)
    {
        var probes = new List<(string, HttpStatusCode, bool, bool)>();
        string[] paths =
        [
            "/health", $"/reservations/{placed.Id}", $"/reservations/{placed.Id}?atLeast={placed.Position}", $"/reservations/{placed.Id}/history",
            $"/days/{ReservationsApi.Text(day)}/availability", $"/days/{ReservationsApi.Text(day)}/reservations", "/admin/projections",
        ];
        foreach (var path in paths)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, ReservationsApi.Url(path)).WithApiKey(SampleOnPostgres.AdminKey);
            using var response = await client.SendAsync(request, Ct);
            probes.Add((path, response.StatusCode, response.Content.Headers.ContentType?.MediaType == ReservationsApi.ProblemJson, response.Headers.RetryAfter is not null));
        }

        return probes;
    }
}
