using System.Diagnostics;
using System.Net;
using System.Text.Json;
using EventSourcing.Tests.Shared.Postgres;
using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.HostileInput;

/// <summary>Whatever a client sends, the API answers with a 4xx problem or a success, never a server error.</summary>
public abstract class HostileInputTests(StoreUnderTest store)
{
    [Fact(Timeout = 120_000)]
    public async Task A_thousand_malformed_and_hostile_requests_to_every_endpoint_never_cause_a_server_error_every_error_is_a_problem_and_nothing_stored_is_lost()
    {
        await using var app = await store.StartAsync(new Dictionary<string, string?>
        {
            ["Admin:ApiKey"] = ReservationsApp.AdminKey, // the admin endpoints open, so that hostile requests reach them
            ["RateLimiting:Writes:TokenLimit"] = "100000", // one client's barrage of writes, under the limit on purpose
        });
        using var client = app.CreateClient();
        var (day, guest) = (Bodies.UniqueDay(), Guid.NewGuid());
        var bystander = await client.PlaceAcceptedAsync(Bodies.Valid(day, partySize: 3, guestId: guest));
        var cancellable = await client.PlaceAcceptedAsync(Bodies.Valid(Bodies.UniqueDay()));
        await client.WaitForOutcomeAsync(cancellable);
        await client.WaitForOutcomeAsync(bystander);
        await client.WaitForAvailabilityAsync(day, a => a.Held == 3, "the bystander's seats held");
        var before = await StoredAsync(client, bystander.Id, guest, day);
        Assert.Equal(("confirmed", 3), (before.View.Status, before.Day.Held));

        var corpus = HostileCorpus.For(new HostileTargets(cancellable.Id, bystander.Id, guest, day));
        Assert.True(corpus.Count >= 1_000, $"only {corpus.Count} hostile requests");
        Assert.Empty(corpus.GroupBy(r => r.Name).Where(g => g.Count() > 1).Select(g => g.Key));

        var clock = Stopwatch.StartNew();
        var (serverErrors, notProblems) = (new List<string>(), new List<string>());
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
                serverErrors.Add($"{hostile}: {status} {mediaType} {Truncate(body)}");
            }
            else if (status >= 400 && (mediaType != ReservationsApi.ProblemJson || !(IsProblem(body, status) || (hostile.Method == "HEAD" && body.Length == 0))))
            {
                notProblems.Add($"{hostile}: {status} as {mediaType ?? "no content type"} {Truncate(body)}");
            }
        }

        var elapsed = clock.Elapsed;
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{store}: {corpus.Count} hostile requests ({string.Join(", ", corpus.CountBy(r => Family(r.Name)).Select(f => $"{f.Key} {f.Value}"))}) in {elapsed.TotalSeconds:F1} s; " +
            $"{serverErrors.Count} server errors, {notProblems.Count} errors that are not problems; statuses {string.Join(", ", statuses.Select(s => $"{s.Key}×{s.Value}"))}");
        var failures = serverErrors.Concat(notProblems).ToList();
        Assert.True(failures.Count == 0, $"{failures.Count} of {corpus.Count} hostile requests were answered wrongly:{Environment.NewLine}{string.Join(Environment.NewLine, failures)}");
        Assert.Superset(new HashSet<int>([400, 401, 403, 404, 405, 412, 413, 415]), statuses.Keys.ToHashSet());

        // Still serving, and what was stored before is as it was.
        Assert.Equal("healthy", (await client.GetHealthAsync()).Status);
        var after = await client.PlaceAcceptedAsync(Bodies.Valid(Bodies.UniqueDay()));
        Assert.Equal("confirmed", (await client.WaitForOutcomeAsync(after)).Status);
        Assert.Equal(before, await StoredAsync(client, bystander.Id, guest, day));
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

    /// <summary>What the API shows of a reservation, its history, its guest's reservations and its day's seats, as text to compare.</summary>
    private static async Task<Stored> StoredAsync(HttpClient client, Guid reservation, Guid guest, DateOnly day)
    {
        var view = await client.GetReservationAsync(reservation);
        var history = JsonSerializer.Serialize(await client.GetHistoryAsync(reservation), ReservationsApi.Json);
        var guestReservations = JsonSerializer.Serialize(await client.GetGuestReservationsAsync(guest), ReservationsApi.Json);
        return new Stored(view, history, guestReservations, await client.GetAvailabilityAsync(day));
    }

    private sealed record Stored(ReservationView View, string History, string GuestReservations, Availability Day);

    /// <summary>Which family of the corpus a request belongs to, from its name (<c>place: …</c>, <c>GET /health: header …</c>, <c>path …</c>).</summary>
    private static string Family(string name) => name.Split(": ", 2) switch
    {
        [var what, _] when what is "place" or "cancel" => "placing and cancelling",
        ["bystander", _] => "attacks on stored data",
        [_, var mutation] => mutation.Split(' ')[0],
        [var single] => single.Split(' ')[0],
        _ => name,
    };

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
