using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.Faults;

/// <summary>One request of the load: what it was, when it was sent and answered (on the test's clock), and the answer.</summary>
/// <param name="Status">The HTTP status; null when no response came (refused, reset, or past the client's timeout).</param>
public sealed record Outcome(string Kind, TimeSpan Sent, TimeSpan Answered, int? Status, string? ContentType, bool RetryAfter, string? Error)
{
    public const string Place = "POST /reservations";
    public const string PlaceAgain = "POST /reservations (sent again, same key)";
    public const string ReadReservation = "GET /reservations/{id}";
    public const string ReadAvailability = "GET /days/{day}/availability";
    public const string Cancel = "POST /reservations/{id}/cancel";

    public TimeSpan Latency => Answered - Sent;

    public bool Acknowledged => Status is >= 200 and < 300;

    /// <summary>The status, or why there was none.</summary>
    public string Answer => Status?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? Error ?? "nothing";
}

/// <summary>
/// A bounded command load on the reservation API: a few clients, each placing reservations (every one with an
/// <c>Idempotency-Key</c>) and reading them back at a steady rate over several days, and, when <see cref="CancelEvery"/>
/// says so, cancelling some of them as soon as they are acknowledged (so mostly while tentative). Every request is
/// recorded; placed reservations are split into acknowledged (2xx) and not (anything else, or no answer), the latter
/// kept with their bodies so that they can be sent again with the same key. Each request goes to the API
/// <paramref name="route"/> gives for the client sending it (one API, or several processes behind a balancer).
/// </summary>
public sealed class ReservationLoad(Func<int, HttpClient> route, IReadOnlyList<DateOnly> days, Stopwatch clock)
{
    /// <summary>The longest a client waits for an answer: a request past it counts as hung (the API's own deadline is 10 s).</summary>
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(15);

    private readonly ConcurrentQueue<Outcome> _outcomes = new();
    private readonly ConcurrentDictionary<string, Placed> _acknowledged = new();
    private readonly ConcurrentDictionary<string, PlaceReservationBody> _unacknowledged = new();
    private readonly ConcurrentDictionary<Guid, bool> _cancellations = new();
    private TaskCompletionSource _recorded = NewSignal();
    private int _requests;

    /// <summary>Each client cancels every <see cref="CancelEvery"/>th reservation it places, right after its acknowledgment; 0: none.</summary>
    public int CancelEvery { get; init; }

    public IReadOnlyCollection<Outcome> Outcomes => _outcomes;

    /// <summary>Reservations acknowledged with a 2xx, by idempotency key.</summary>
    public IReadOnlyDictionary<string, Placed> Acknowledged => _acknowledged;

    /// <summary>Placements never acknowledged (yet), by idempotency key.</summary>
    public IReadOnlyDictionary<string, PlaceReservationBody> Unacknowledged => _unacknowledged;

    /// <summary>The reservations a cancellation was sent for, and whether it was acknowledged (2xx).</summary>
    public IReadOnlyDictionary<Guid, bool> Cancellations => _cancellations;

    /// <summary>
    /// An HTTP client for the load: the request timeout above, nothing retried, and every answer checked against the
    /// committed OpenAPI document (<see cref="OpenApi.OpenApiResponseCheck"/>), under faults too.
    /// </summary>
    public static HttpClient Client(Uri baseAddress) => new(new OpenApi.OpenApiResponseCheck { InnerHandler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromSeconds(30) } })
    {
        BaseAddress = baseAddress,
        Timeout = RequestTimeout,
    };

    /// <summary>Runs <paramref name="clients"/> clients, each sending one request every <paramref name="period"/>, until <paramref name="stop"/>.</summary>
    public Task RunAsync(int clients, TimeSpan period, CancellationToken stop) =>
        Task.WhenAll(Enumerable.Range(0, clients).Select(c => Task.Run(() => ClientAsync(c, period, stop), CancellationToken.None)));

    /// <summary>Places <paramref name="count"/> reservations at once (every request in flight before any is answered).</summary>
    public Task<Outcome[]> BurstAsync(int count) =>
        Task.WhenAll(Enumerable.Range(0, count).Select(i =>
            PlaceAsync(NextClient(), Guid.NewGuid().ToString(), Bodies.Valid(days[i % days.Count], partySize: 1 + (i % 4), guestName: $"Burst guest {i}", guestEmail: $"burst{i}@example.com"))));

    /// <summary>Sends every unacknowledged placement again, with its key and body (as <see cref="Outcome.PlaceAgain"/>); returns the answers.</summary>
    public async Task<IReadOnlyList<Outcome>> RetryUnacknowledgedAsync()
    {
        var outcomes = new List<Outcome>();
        foreach (var (key, body) in _unacknowledged.ToArray())
        {
            outcomes.Add(await PlaceAsync(NextClient(), key, body, Outcome.PlaceAgain));
        }

        return outcomes;
    }

    /// <summary>Waits until <paramref name="condition"/> holds of the recorded outcomes, checking on every new one.</summary>
    public async Task WaitUntilAsync(Func<IReadOnlyCollection<Outcome>, bool> condition, TimeSpan timeout, string what)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        deadline.CancelAfter(timeout);
        while (true)
        {
            var recorded = Volatile.Read(ref _recorded).Task;
            if (condition(_outcomes))
            {
                return;
            }

            try
            {
                await recorded.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException) when (!TestContext.Current.CancellationToken.IsCancellationRequested)
            {
                var recent = _outcomes.TakeLast(200).GroupBy(o => $"{o.Kind} {o.Answer}").Select(g => $"{g.Key} ×{g.Count()}");
                Assert.Fail($"Waited {timeout.TotalSeconds} s for {what}; {_outcomes.Count} requests recorded, the last 200: {string.Join("; ", recent)}");
            }
        }
    }

    private async Task ClientAsync(int client, TimeSpan period, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(period);
        var random = new Random(client);
        Placed? last = null;
        var placed = 0;
        try
        {
            for (var tick = 0; await timer.WaitForNextTickAsync(stop); tick++)
            {
                var day = days[(client + tick) % days.Count];
                switch (tick % 4)
                {
                    case 0 or 2:
                        var key = Guid.NewGuid().ToString();
                        await PlaceAsync(client, key, Bodies.Valid(day, partySize: random.Next(1, 5), guestName: $"Guest {client}-{tick}", guestEmail: $"guest{client}.{tick}@example.com"));
                        if (_acknowledged.GetValueOrDefault(key) is { } acknowledged && CancelEvery > 0 && ++placed % CancelEvery == 0)
                        {
                            await CancelAsync(client, acknowledged.Id);
                        }
                        else
                        {
                            last = _acknowledged.GetValueOrDefault(key) ?? last;
                        }

                        break;
                    case 1 when last is not null:
                        await SendAsync(client, Outcome.ReadReservation, () => new HttpRequestMessage(HttpMethod.Get, ReservationsApi.Url($"/reservations/{last.Id}?atLeast={last.Position}")));
                        break;
                    default:
                        await SendAsync(client, Outcome.ReadAvailability, () => new HttpRequestMessage(HttpMethod.Get, ReservationsApi.Url($"/days/{ReservationsApi.Text(day)}/availability")));
                        break;
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // the load is over
        }
    }

    /// <summary>Cancels <paramref name="reservation"/> (with an <c>Idempotency-Key</c>, no <c>If-Match</c>).</summary>
    private async Task CancelAsync(int client, Guid reservation)
    {
        _cancellations.TryAdd(reservation, false);
        var outcome = await SendAsync(client, Outcome.Cancel, () =>
        {
            var request = new HttpRequestMessage(HttpMethod.Post, ReservationsApi.Url($"/reservations/{reservation}/cancel"));
            request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString());
            return request;
        });
        if (outcome.Acknowledged)
        {
            _cancellations[reservation] = true;
        }
    }

    private async Task<Outcome> PlaceAsync(int client, string key, PlaceReservationBody body, string kind = Outcome.Place)
    {
        _unacknowledged.TryAdd(key, body);
        var outcome = await SendAsync(client, kind, () =>
        {
            var request = new HttpRequestMessage(HttpMethod.Post, ReservationsApi.Url("/reservations")) { Content = JsonContent.Create(body, options: ReservationsApi.Json) };
            request.Headers.Add("Idempotency-Key", key);
            return request;
        }, placed => _acknowledged[key] = JsonSerializer.Deserialize<Placed>(placed, ReservationsApi.Json)!);
        if (outcome.Acknowledged)
        {
            _unacknowledged.TryRemove(key, out _);
        }

        return outcome;
    }

    /// <summary>A client number for requests sent outside the clients' loops (bursts, retries), so that they spread like the load.</summary>
    private int NextClient() => Interlocked.Increment(ref _requests);

    private async Task<Outcome> SendAsync(int client, string kind, Func<HttpRequestMessage> create, Action<string>? acknowledged = null)
    {
        var sent = clock.Elapsed;
        Outcome outcome;
        try
        {
            using var request = create();
            using var response = await route(client).SendAsync(request, CancellationToken.None);
            var body = await response.Content.ReadAsStringAsync(CancellationToken.None);
            outcome = new Outcome(kind, sent, clock.Elapsed, (int)response.StatusCode, response.Content.Headers.ContentType?.MediaType, response.Headers.RetryAfter is not null, null);
            if (outcome.Acknowledged)
            {
                acknowledged?.Invoke(body);
            }
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException)
        {
            var error = exception is TaskCanceledException ? $"no answer within {RequestTimeout.TotalSeconds} s" : exception.Message;
            outcome = new Outcome(kind, sent, clock.Elapsed, null, null, false, error);
        }

        _outcomes.Enqueue(outcome);
        Interlocked.Exchange(ref _recorded, NewSignal()).TrySetResult();
        return outcome;
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
