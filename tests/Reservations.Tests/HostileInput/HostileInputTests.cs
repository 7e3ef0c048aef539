using System.Net;
using System.Text.Json;
using EventSourcing.Tests.Shared.Postgres;
using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.HostileInput;

/// <summary>Whatever a client sends, the API answers with a 4xx problem or a success, never a server error.</summary>
public abstract class HostileInputTests(StoreUnderTest store)
{
    [Fact(Timeout = 120_000)]
    public async Task Malformed_and_hostile_requests_never_cause_a_server_error_and_every_error_is_a_problem()
    {
        await using var app = await store.StartAsync(new Dictionary<string, string?> { ["RateLimiting:Writes:TokenLimit"] = "100000" }); // one client's barrage
        using var client = app.CreateClient();
        var existing = await client.PlaceAcceptedAsync(Bodies.Valid(Bodies.UniqueDay()));
        await client.WaitForOutcomeAsync(existing);
        var corpus = HostileCorpus.For(existing.Id);
        Assert.True(corpus.Count >= 200, $"only {corpus.Count} hostile requests");
        Assert.Empty(corpus.GroupBy(r => r.Name).Where(g => g.Count() > 1).Select(g => g.Key));

        var failures = new List<string>();
        var statuses = new SortedDictionary<int, int>();
        foreach (var hostile in corpus)
        {
            using var request = hostile.ToMessage();
            using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);
            var status = (int)response.StatusCode;
            statuses[status] = statuses.GetValueOrDefault(status) + 1;
            var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
            var mediaType = response.Content.Headers.ContentType?.MediaType;
            if (status >= 500)
            {
                failures.Add($"{hostile}: {status} {mediaType} {Truncate(body)}");
            }
            else if (status >= 400 && (mediaType != ReservationsApi.ProblemJson || !IsProblem(body, status)))
            {
                failures.Add($"{hostile}: {status} as {mediaType ?? "no content type"} {Truncate(body)}");
            }
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"{store}: {corpus.Count} hostile requests; statuses {string.Join(", ", statuses.Select(s => $"{s.Key}×{s.Value}"))}");
        Assert.True(failures.Count == 0, $"{failures.Count} of {corpus.Count} hostile requests were answered wrongly:{Environment.NewLine}{string.Join(Environment.NewLine, failures)}");
        Assert.Contains(400, statuses.Keys);
        Assert.Contains(413, statuses.Keys);

        // Still serving.
        Assert.Equal("healthy", (await client.GetHealthAsync()).Status);
        var after = await client.PlaceAcceptedAsync(Bodies.Valid(Bodies.UniqueDay()));
        Assert.Equal("confirmed", (await client.WaitForOutcomeAsync(after)).Status);
    }

    [Fact]
    public async Task Errors_are_problems_whatever_media_type_the_client_accepts()
    {
        await using var app = await store.StartAsync();
        using var client = app.CreateClient();
        var cases = new (string Name, HttpRequestMessage Request, HttpStatusCode Expected)[]
        {
            ("broken JSON, Accept: text/html", Post("{", "text/html"), HttpStatusCode.BadRequest),
            ("invalid party size, Accept: application/xml", Post(JsonSerializer.Serialize(Bodies.Valid(Bodies.UniqueDay(), partySize: 0), ReservationsApi.Json), "application/xml"), HttpStatusCode.BadRequest),
            ("unknown route, Accept: text/html", Get("/nowhere", "text/html"), HttpStatusCode.NotFound),
            ("bad day, Accept: text/html", Get("/days/someday/availability", "text/html"), HttpStatusCode.BadRequest),
        };

        var wrong = new List<string>();
        foreach (var (name, request, expected) in cases)
        {
            using (request)
            {
                using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);
                var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
                var mediaType = response.Content.Headers.ContentType?.MediaType;
                if (response.StatusCode != expected || mediaType != ReservationsApi.ProblemJson || !IsProblem(body, (int)expected))
                {
                    wrong.Add($"{name}: {(int)response.StatusCode} as {mediaType ?? "no content type"} '{Truncate(body)}'");
                }
            }
        }

        Assert.True(wrong.Count == 0, $"Not a {ReservationsApi.ProblemJson} problem:{Environment.NewLine}{string.Join(Environment.NewLine, wrong)}");

        static HttpRequestMessage Post(string body, string accept)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, ReservationsApi.Url("/reservations")) { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
            request.Headers.TryAddWithoutValidation("Accept", accept);
            return request;
        }

        static HttpRequestMessage Get(string path, string accept)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, ReservationsApi.Url(path));
            request.Headers.TryAddWithoutValidation("Accept", accept);
            return request;
        }
    }

    private static bool IsProblem(string body, int status)
    {
        try
        {
            using var problem = JsonDocument.Parse(body);
            return problem.RootElement.TryGetProperty("status", out var value) && value.GetInt32() == status
                && problem.RootElement.TryGetProperty("title", out var title) && title.GetString() is { Length: > 0 };
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static string Truncate(string body) => body.Length > 300 ? string.Concat(body.AsSpan(0, 300), "…") : body;
}

public sealed class InMemoryHostileInputTests() : HostileInputTests(new InMemoryStore());

public sealed class PostgresHostileInputTests(PostgresFixture postgres) : HostileInputTests(new PostgresStore(postgres));
