using System.Diagnostics;
using System.Net;
using EventSourcing.Tests.Shared.Postgres;
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
        await using var app = await store.StartAsync(new Dictionary<string, string?>
        {
            ["Reservations:SeatsPerDay"] = "100",
            ["RateLimiting:Writes:TokenLimit"] = "1000", // one client, a thousand writes at once: far over the default limit
        });
        using var client = app.CreateClient();
        var day = Bodies.UniqueDay();
        var clock = Stopwatch.StartNew();

        // All at once: every request is in flight before any is awaited.
        var placements = Enumerable.Range(0, Requests)
            .Select(i => client.PlaceAsync(Bodies.Valid(day, partySize: 1, guestName: $"Guest {i}", guestEmail: $"guest{i}@example.com")))
            .ToList();
        var responses = await Task.WhenAll(placements);
        var placed = new List<Placed>();
        foreach (var response in responses)
        {
            using (response)
            {
                placed.Add(await response.ReadAsync<Placed>(HttpStatusCode.Accepted));
            }
        }

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
