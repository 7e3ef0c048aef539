using System.Diagnostics;
using System.Net;
using EventSourcing.Testing.Contracts.Privacy;
using EventSourcing.Tests.Shared.Postgres;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.Flow;

/// <summary>Many guests at once for one day: the day's capacity decides, and it never overbooks.</summary>
public abstract class ConcurrencyTests(StoreUnderTest store)
{
    private const int Seats = 100;
    private const int Requests = 1_000;

    [Fact(Timeout = 240_000)]
    public async Task A_thousand_concurrent_placements_for_a_hundred_seats_confirm_exactly_a_hundred()
    {
        var logs = new LogCollector();
        await using var app = await store.StartAsync(new AppSetup(
            new Dictionary<string, string?>
            {
                ["Reservations:SeatsPerDay"] = "100",
                ["RateLimiting:Writes:Enabled"] = "false", // one client, a thousand writes at once and a retry of every 503: no write limit here
            },
            services => services.AddLogging(logging => logging.AddProvider(logs))));
        using var client = app.CreateClient();
        var day = Bodies.UniqueDay();
        var clock = Stopwatch.StartNew();

        // All at once: every request is in flight before any is awaited. Each has its own Idempotency-Key, and a 503 (the
        // store did not answer in time: the pool and the server are swamped by the burst on a small machine) is sent again
        // with it after a pause, as a client does; anything but 202 or 503 fails.
        var unavailable = 0;
        var placements = Enumerable.Range(0, Requests).Select(async i =>
        {
            var body = Bodies.Valid(day, partySize: 1, guestName: $"Guest {i}", guestEmail: $"guest{i}@example.com");
            var key = Guid.NewGuid().ToString();
            for (var attempt = 1; ; attempt++)
            {
                using var response = await client.PlaceAsync(body, key);
                if (response.StatusCode == HttpStatusCode.ServiceUnavailable && attempt < 5)
                {
                    Interlocked.Increment(ref unavailable);
                    await Task.Delay(TimeSpan.FromMilliseconds(500 * attempt), TestContext.Current.CancellationToken);
                    continue;
                }

                return await response.ReadAsync<Placed>(HttpStatusCode.Accepted);
            }
        }).ToList();
        var placed = (await Task.WhenAll(placements)).ToList();
        if (unavailable > 0)
        {
            // Why, as the app logged it (a connection that took too long to open, say), for the record.
            var logged = logs.Lines.Where(l => l.StartsWith("Warning", StringComparison.Ordinal) || l.StartsWith("Error", StringComparison.Ordinal)).Take(5).Select(l => l.Length > 1500 ? l[..1500] : l);
            TestContext.Current.TestOutputHelper?.WriteLine($"{unavailable} placements answered 503 and were sent again:{Environment.NewLine}{string.Join(Environment.NewLine, logged)}");
        }

        Assert.True(unavailable <= Requests / 10, $"{unavailable} of {Requests} placements answered 503 first");
        var accepted = clock.Elapsed;
        Assert.Equal(Requests, placed.Select(p => p.Id).Distinct().Count());
        Assert.Equal(Requests, placed.Select(p => p.Position).Distinct().Count());

        var views = await Eventually.Async(
            () => client.GetDayReservationsAsync(day),
            list => list.Count == Requests && list.All(r => r.Status != "tentative"),
            $"all {Requests} reservations of {ReservationsApi.Text(day)} to be confirmed or rejected",
            TimeSpan.FromMinutes(2),
            TimeSpan.FromMilliseconds(250));
        var decided = clock.Elapsed;

        var byStatus = views.GroupBy(r => r.Status).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(new Dictionary<string, int> { ["confirmed"] = Seats, ["rejected"] = Requests - Seats }, byStatus);
        Assert.Equal(placed.Select(p => p.Id).Order(), views.Select(r => r.Id).Order());
        Assert.Equal(Seats, views.Where(r => r.Status == "confirmed").Sum(r => r.PartySize));
        var availability = await client.WaitForAvailabilityAsync(day, a => a.Held == Seats, $"{Seats} seats held");
        Assert.Equal(new Availability(day, Seats, Seats, 0), availability);

        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{store}: {Requests} placements accepted in {accepted.TotalSeconds:F1} s; all confirmed or rejected after {decided.TotalSeconds:F1} s");
    }
}

public sealed class InMemoryConcurrencyTests() : ConcurrencyTests(new InMemoryStore());

public sealed class PostgresConcurrencyTests(PostgresFixture postgres) : ConcurrencyTests(new PostgresStore(postgres));
