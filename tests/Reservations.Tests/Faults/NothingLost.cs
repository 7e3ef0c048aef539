using System.Diagnostics;
using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.Faults;

/// <summary>
/// The end state a fault must not spoil: every acknowledged reservation stored exactly once in the log, confirmed or
/// rejected by the reactor, shown so by its view; each day's availability equal to the seats its capacity stream holds
/// and to the party sizes of its confirmed reservations, never above capacity.
/// </summary>
public static class NothingLost
{
    /// <summary>How long the reactor and the projections may take to catch up after a fault.</summary>
    public static readonly TimeSpan CatchUpPatience = TimeSpan.FromSeconds(90);

    /// <summary>Waits for the reactor and the views to catch up, then checks everything above against the log.</summary>
    public static async Task<Verdict> CheckAsync(HttpClient client, EventLog log, ReservationLoad load, IReadOnlyList<DateOnly> days, int seatsPerDay)
    {
        var clock = Stopwatch.StartNew();
        var acknowledged = load.Acknowledged.Values.Select(p => p.Id).ToHashSet();
        var views = await Eventually.Async(
            async () => (await Task.WhenAll(days.Select(client.GetDayReservationsAsync))).SelectMany(d => d).ToDictionary(r => r.Id),
            views => acknowledged.All(id => views.TryGetValue(id, out var view) && view.Status != "tentative"),
            $"all {acknowledged.Count} acknowledged reservations to be confirmed or rejected",
            CatchUpPatience,
            TimeSpan.FromMilliseconds(250));
        var availability = new Dictionary<DateOnly, Availability>();
        foreach (var day in days)
        {
            var confirmedSeats = views.Values.Where(r => r.Day == day && r.Status == "confirmed").Sum(r => r.PartySize);
            availability[day] = await Eventually.Async(
                () => client.GetAvailabilityAsync(day), a => a.Held == confirmedSeats, $"{confirmedSeats} seats held", CatchUpPatience, TimeSpan.FromMilliseconds(250));
        }

        var caughtUp = clock.Elapsed;
        var placed = await log.PlacedAsync();
        var statuses = await log.StatusesAsync();
        var held = await log.HeldSeatsAsync();
        var missing = acknowledged.Where(id => !placed.ContainsKey(id)).ToList();
        var problems = new List<string>();
        problems.AddRange(missing.Select(id => $"acknowledged reservation {id} is not in the log"));
        problems.AddRange(placed.Where(p => p.Value != 1).Select(p => $"reservation {p.Key} is placed {p.Value} times in the log"));
        problems.AddRange(acknowledged.Where(id => statuses.GetValueOrDefault(id) is not ("confirmed" or "rejected")).Select(id => $"reservation {id} is {statuses.GetValueOrDefault(id)} in the log"));
        problems.AddRange(acknowledged.Where(id => statuses.GetValueOrDefault(id) != views[id].Status).Select(id => $"reservation {id} is {statuses.GetValueOrDefault(id)} in the log but {views[id].Status} in its view"));
        problems.AddRange(days.Where(day => held.GetValueOrDefault(day) != availability[day].Held).Select(day => $"{day}: the log holds {held.GetValueOrDefault(day)} seats, availability says {availability[day].Held}"));
        problems.AddRange(days.Where(day => availability[day].Held > seatsPerDay).Select(day => $"{day}: {availability[day].Held} seats held of {seatsPerDay}"));
        return new Verdict(caughtUp, acknowledged.Count, missing.Count, acknowledged.Count(id => statuses.GetValueOrDefault(id) == "confirmed"), problems);
    }

    /// <summary>What <see cref="CheckAsync"/> found.</summary>
    /// <param name="CaughtUp">How long the reactor and the views took to catch up.</param>
    /// <param name="Lost">Acknowledged reservations missing from the log.</param>
    public sealed record Verdict(TimeSpan CaughtUp, int Acknowledged, int Lost, int Confirmed, IReadOnlyList<string> Problems)
    {
        public IEnumerable<(string Name, object Value)> Figures =>
        [
            ("acknowledged but lost", Lost),
            ("acknowledged reservations confirmed / rejected", $"{Confirmed} / {Acknowledged - Confirmed}"),
            ("reactor and views caught up after (s)", LoadFigures.Seconds(CaughtUp)),
        ];

        public void AssertNothingWrong() => Assert.True(Problems.Count == 0, string.Join(Environment.NewLine, Problems.Take(20)));
    }
}
