using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using EventSourcing.Events;
using EventSourcing.Reactors;
using EventSourcing.Tests.Shared.Postgres;
using EventSourcing.Testing.Contracts.Privacy;
using Microsoft.Extensions.DependencyInjection;
using Reservations.Domain;
using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.Guarantees;

/// <summary>
/// Cancellations racing the confirmation reactor, sent through the other node than the placement: before the day holds
/// the seats, while the hold and the confirmation are under way, or after. Every decision is on the day's stream, so a
/// hold that comes late changes nothing: in the end no seat is held for a reservation that is not confirmed, no
/// reservation is held or refused twice, and the availability views equal the log. Whether a free race lands a
/// cancellation between the hold and the confirmation depends on the machine's timing, so the reservations of one more
/// day are cancelled there for certain: the reactor waits, before handling their day's hold, until the cancellation
/// has been answered.
/// </summary>
[Collection(GuaranteesRunAlone.Name)]
public sealed class ReactorCancellationRaceTests(PostgresFixture postgres)
{
    private const int Reservations = 240;
    private const int CancelledBetween = 12;
    private const int InFlight = 8;
    private const int SeatsPerDay = 30;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 120_000)]
    public async Task Cancellations_racing_the_reactor_through_either_node_leave_no_seat_held_for_a_reservation_not_confirmed()
    {
        var ledger = new ReactionLedger();
        var first = Bodies.UniqueDay();
        DateOnly[] days = [first, first.AddDays(1), first.AddDays(2)];
        var betweenDay = first.AddDays(3);
        var held = Channel.CreateUnbounded<(Guid Reservation, TaskCompletionSource Resume)>();

        // The reactor, on either node, waits before confirming a reservation of the last day until it is cancelled.
        Task CancelAfterTheHold(EventEnvelope envelope, CancellationToken cancellationToken)
        {
            var resume = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return envelope.Data is SeatsHeld hold && hold.Day == betweenDay && held.Writer.TryWrite((hold.ReservationId, resume))
                ? resume.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken)
                : Task.CompletedTask;
        }

        await using var nodes = await new PostgresStore(postgres).StartNodesAsync(0, Guarantee.Setup);
        var a = await nodes.StartNodeAsync(ReactorNodes.Setup("node-a", SeatsPerDay, ledger, new LogCollector(), CancelAfterTheHold));
        var b = await nodes.StartNodeAsync(ReactorNodes.Setup("node-b", SeatsPerDay, ledger, new LogCollector(), CancelAfterTheHold));
        using var clientA = a.CreateClient();
        using var clientB = b.CreateClient();
        var cancels = new ConcurrentQueue<int>();
        var clock = Stopwatch.StartNew();
        var cancelling = Task.Run(async () =>
        {
            var sent = 0;
            await foreach (var (reservation, resume) in held.Reader.ReadAllAsync(Ct))
            {
                using var cancelled = await (sent++ % 2 == 0 ? clientA : clientB).CancelAsync(reservation);
                cancels.Enqueue((int)cancelled.StatusCode);
                resume.TrySetResult();
            }
        }, Ct);

        // A quarter not cancelled; a quarter cancelled at once; a quarter after one read; a quarter once decided; and
        // the last day's, cancelled between the hold and the confirmation.
        await Parallel.ForEachAsync(Enumerable.Range(0, Reservations + CancelledBetween), new ParallelOptions { MaxDegreeOfParallelism = InFlight, CancellationToken = Ct }, async (i, _) =>
        {
            var (placeVia, cancelVia) = i / 4 % 2 == 0 ? (clientA, clientB) : (clientB, clientA);
            if (i >= Reservations)
            {
                await placeVia.PlaceAcceptedAsync(Bodies.Valid(betweenDay, partySize: 1));
                return;
            }

            var placed = await placeVia.PlaceAcceptedAsync(Bodies.Valid(days[i % days.Length], partySize: 1 + (i / 3 % 4)));
            switch (i % 4)
            {
                case 0:
                    return;
                case 2:
                    await cancelVia.GetReservationAsync(placed.Id, placed.Position);
                    break;
                case 3:
                    await cancelVia.WaitForOutcomeAsync(placed);
                    break;
            }

            using var cancelled = await cancelVia.CancelAsync(placed.Id);
            cancels.Enqueue((int)cancelled.StatusCode);
        });

        var placing = clock.Elapsed;
        var settled = await SettleAsync(a);
        held.Writer.TryComplete();
        await cancelling;
        days = [.. days, betweenDay];
        var log = new DecisionLog(nodes.ConnectionString);
        var decisions = await log.ReadAsync();
        var orders = await log.OrdersAsync();
        var seats = days.ToDictionary(day => day, day => decisions.Values.Where(d => d.Day == day).Sum(d => d.Held));
        var views = new Dictionary<DateOnly, int>();
        foreach (var day in days)
        {
            views[day] = (await Eventually.Async(() => clientB.GetAvailabilityAsync(day), v => v.Held == seats[day], $"the availability of {day} to show {seats[day]} seats")).Held;
        }

        var live = decisions.Values.Where(d => d.Confirmed && !d.Cancelled).ToArray();
        var cancelledOnes = decisions.Where(d => d.Value.Cancelled).Select(d => orders[d.Key]).ToArray();
        var between = decisions.Where(d => d.Value.Cancelled && orders[d.Key].StartsWith("placed held cancelled", StringComparison.Ordinal)).ToArray();
        Guarantee.Report($"{Reservations} placed and {cancels.Count} cancellations sent in {placing.TotalSeconds:F1} s (answers {Guarantee.Histogram(cancels)}); reactor settled at {settled} after {clock.Elapsed.TotalSeconds:F1} s; reactions: {ledger}");
        Guarantee.Report($"{live.Length} confirmed and not cancelled, {decisions.Values.Count(d => d.Cancelled)} cancelled; seats held per day {string.Join(", ", days.Select(d => $"{ReservationsApi.Text(d)}: {seats[d]}"))} of {SeatsPerDay}");
        Guarantee.Report($"cancelled between the hold and the confirmation: {between.Length}, {between.Count(d => d.Value.Day != betweenDay)} of them by the free race");
        Guarantee.Report($"orders of the cancelled reservations' events (log order): {string.Join("; ", cancelledOnes.GroupBy(o => o).OrderByDescending(g => g.Count()).Select(g => $"{g.Key} ×{g.Count()}"))}");

        var broken = new Broken();
        broken.Add("cancellations answered other than 200 or 409", cancels.Count(s => s is not (200 or 409)));
        broken.Add("seats held for reservations not confirmed, or cancelled", decisions.Values.Count(d => d.Held != 0 && (!d.Confirmed || d.Cancelled)));
        broken.Add("confirmed reservations not cancelled holding other than their party size", live.Count(d => d.Held != d.PartySize));
        broken.Add("reservations held or refused more than once on their day", decisions.Values.Count(d => d.DayDecisions > 1));
        broken.Add("reservations not cancelled, not decided exactly once", decisions.Values.Count(d => !d.Cancelled && (d.Outcomes != 1 || d.DayDecisions != 1)));
        broken.Add("days holding more than their seats", seats.Values.Count(h => h > SeatsPerDay));
        broken.Add("days whose held seats are not the party sizes of their confirmed reservations", days.Count(day => seats[day] != live.Where(d => d.Day == day).Sum(d => d.PartySize)));
        broken.Add("availability views unlike the log", days.Count(day => views[day] != seats[day]));
        broken.Add("reactions executed by more than one node", ledger.OnMoreThanOneNode);
        broken.Add("reservations of the last day not cancelled between the hold and the confirmation", CancelledBetween - between.Count(d => d.Value.Day == betweenDay));
        broken.AssertNone();
    }

    /// <summary>Waits until the reactor has passed the head, and the head has not moved meanwhile (its own commands append); returns the head.</summary>
    private static async Task<long> SettleAsync(ReservationsApp node)
    {
        var status = node.Services.GetRequiredService<ReactorStatusReader>();
        var events = node.Services.GetRequiredService<EventSourcing.Storage.IEventStore>();
        while (true)
        {
            var head = await events.ReadHeadPositionAsync(Ct);
            Assert.True(await status.WaitForAsync(ReactorNodes.Reactor, head, TimeSpan.FromSeconds(60), Ct), $"The reactor did not pass {head} within a minute.");
            if (await events.ReadHeadPositionAsync(Ct) == head)
            {
                return head;
            }
        }
    }
}
