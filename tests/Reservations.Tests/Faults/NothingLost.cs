using System.Diagnostics;
using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.Faults;

/// <summary>
/// The end state a fault must not spoil: every acknowledged reservation stored exactly once in the log, confirmed or
/// rejected by the reactor (or cancelled, when the load cancelled it), shown so by its view; every reservation decided
/// once: its day held or refused it once, it was confirmed or rejected at most once (exactly once unless cancelled), and
/// the day holds its seats if and only if it is confirmed (none for a rejected or cancelled one); each day's availability
/// equal to the seats its capacity stream holds and to the party sizes of its confirmed reservations, never above capacity.
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
        var cancellations = load.Cancellations;
        var views = await Eventually.Async(
            async () => (await Task.WhenAll(days.Select(client.GetDayReservationsAsync))).SelectMany(d => d).ToDictionary(r => r.Id),
            views => acknowledged.All(id => views.TryGetValue(id, out var view) && view.Status != "tentative"),
            $"all {acknowledged.Count} acknowledged reservations to be confirmed, rejected or cancelled",
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
        var decisions = await log.DecisionsAsync();
        var missing = acknowledged.Where(id => !placed.ContainsKey(id)).ToList();
        var problems = new List<string>();
        problems.AddRange(missing.Select(id => $"acknowledged reservation {id} is not in the log"));
        problems.AddRange(placed.Where(p => p.Value != 1).Select(p => $"reservation {p.Key} is placed {p.Value} times in the log"));
        problems.AddRange(acknowledged.Where(id => !Expected(id, cancellations).Contains(statuses.GetValueOrDefault(id))).Select(id => $"reservation {id} is {statuses.GetValueOrDefault(id)} in the log (cancellation sent: {Cancellation(id, cancellations)})"));
        problems.AddRange(acknowledged.Where(id => statuses.GetValueOrDefault(id) != views[id].Status).Select(id => $"reservation {id} is {statuses.GetValueOrDefault(id)} in the log but {views[id].Status} in its view"));
        problems.AddRange(acknowledged.Where(placed.ContainsKey).SelectMany(id => DecidedOnce(id, statuses.GetValueOrDefault(id), decisions.GetValueOrDefault(id) ?? new Decisions(), views.GetValueOrDefault(id))));
        problems.AddRange(days.Where(day => held.GetValueOrDefault(day) != availability[day].Held).Select(day => $"{day}: the log holds {held.GetValueOrDefault(day)} seats, availability says {availability[day].Held}"));
        problems.AddRange(days.Where(day => availability[day].Held > seatsPerDay).Select(day => $"{day}: {availability[day].Held} seats held of {seatsPerDay}"));
        var outcomes = acknowledged.Select(id => statuses.GetValueOrDefault(id)).ToList();
        var cancelled = acknowledged.Where(id => statuses.GetValueOrDefault(id) == "cancelled").Select(id => decisions.GetValueOrDefault(id) ?? new Decisions()).ToList();
        return new Verdict(caughtUp, acknowledged.Count, missing.Count, outcomes.Count(s => s == "confirmed"), outcomes.Count(s => s == "rejected"), cancelled.Count,
            cancelled.Count(d => d.CancelledWhileTentative), cancelled.Count(d => d.CancelledWhileTentative && d.Held > 0), problems);
    }

    /// <summary>The statuses an acknowledged reservation may end in, given whether the load cancelled it.</summary>
    private static string[] Expected(Guid id, IReadOnlyDictionary<Guid, bool> cancellations) => cancellations.TryGetValue(id, out var acknowledged)
        ? acknowledged ? ["cancelled"] : ["confirmed", "rejected", "cancelled"]
        : ["confirmed", "rejected"];

    private static string Cancellation(Guid id, IReadOnlyDictionary<Guid, bool> cancellations) =>
        cancellations.TryGetValue(id, out var acknowledged) ? acknowledged ? "acknowledged" : "not acknowledged" : "no";

    /// <summary>What is wrong with the decisions on one reservation: decided twice, seats held twice, or seats held that its status does not hold.</summary>
    private static IEnumerable<string> DecidedOnce(Guid id, string? status, Decisions d, ReservationView? view)
    {
        if (d.Confirmed + d.Rejected > 1)
        {
            yield return $"reservation {id} is decided {d.Confirmed + d.Rejected} times (confirmed {d.Confirmed}, rejected {d.Rejected})";
        }

        if (d.Held + d.Refused > 1)
        {
            yield return $"reservation {id} is decided {d.Held + d.Refused} times by its day (held {d.Held}, refused {d.Refused})";
        }

        if (d.Released > 1)
        {
            yield return $"reservation {id} has its seats released {d.Released} times";
        }

        if ((d.Confirmed > 0 && d.Held == 0) || (d.Rejected > 0 && d.Refused == 0))
        {
            yield return $"reservation {id} is {status} although its day {(d.Held > 0 ? "held" : d.Refused > 0 ? "refused" : "never decided")} it";
        }

        if (status != "cancelled" && d.Confirmed + d.Rejected != 1)
        {
            yield return $"reservation {id} is {status}: never decided";
        }

        var seats = status == "confirmed" ? view?.PartySize : 0;
        if (seats is not null && d.SeatsHeld != seats)
        {
            yield return $"reservation {id} is {status} and its day holds {d.SeatsHeld} seats for it (held {d.HeldSeats} in {d.Held}, released {d.ReleasedSeats} in {d.Released})";
        }
    }

    /// <summary>What <see cref="CheckAsync"/> found.</summary>
    /// <param name="CaughtUp">How long the reactor and the views took to catch up.</param>
    /// <param name="Lost">Acknowledged reservations missing from the log.</param>
    /// <param name="CancelledTentative">Acknowledged reservations cancelled while tentative.</param>
    /// <param name="CancelledHeld">Of those, the ones whose seats the day had held already (released unconfirmed).</param>
    public sealed record Verdict(TimeSpan CaughtUp, int Acknowledged, int Lost, int Confirmed, int Rejected, int Cancelled, int CancelledTentative, int CancelledHeld, IReadOnlyList<string> Problems)
    {
        public IEnumerable<(string Name, object Value)> Figures =>
        [
            ("acknowledged but lost", Lost),
            ("acknowledged reservations confirmed / rejected / cancelled", $"{Confirmed} / {Rejected} / {Cancelled}"),
            ("cancelled while tentative (of which with seats held already)", $"{CancelledTentative} ({CancelledHeld})"),
            ("reactor and views caught up after (s)", LoadFigures.Seconds(CaughtUp)),
        ];

        public void AssertNothingWrong() => Assert.True(Problems.Count == 0, string.Join(Environment.NewLine, Problems.Take(20)));
    }
}
