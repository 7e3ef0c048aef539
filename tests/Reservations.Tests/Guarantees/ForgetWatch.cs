using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using EventSourcing.Privacy;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.Guarantees;

/// <summary>One read of a guest's reservation (view or history) on a node: when it started and ended, and how many personal values it showed.</summary>
internal readonly record struct WatchedRead(long Started, long Ended, int Readable);

/// <summary>
/// A guest forgotten through one node while another node keeps reading their reservation, alternately the view and the
/// history: when the DELETE started and answered, and every read around it (timestamps of <see cref="Stopwatch"/>).
/// </summary>
internal sealed record ForgetWatch(Guid GuestId, HttpStatusCode Status, long DeleteStarted, long DeleteAnswered, IReadOnlyList<WatchedRead> Reads)
{
    private static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(10);

    /// <summary>How long the DELETE took, as its client saw it.</summary>
    public TimeSpan DeleteDuration => Stopwatch.GetElapsedTime(DeleteStarted, DeleteAnswered);

    /// <summary>Reads that started after the DELETE had answered.</summary>
    public IEnumerable<WatchedRead> ReadsAfterTheAnswer => Reads.Where(r => r.Started > DeleteAnswered);

    /// <summary>Personal values shown by reads that started after the DELETE had answered: must be 0.</summary>
    public int ReadableAfterTheAnswer => ReadsAfterTheAnswer.Sum(r => r.Readable);

    /// <summary>How long after the DELETE answered the last read still showing values started (negative: before it answered).</summary>
    public TimeSpan? LastReadableAfterTheAnswer => Reads.Where(r => r.Readable > 0).Select(r => (TimeSpan?)Stopwatch.GetElapsedTime(DeleteAnswered, r.Started)).Max();

    /// <summary>How long after the DELETE started the reading node first showed the guest erased (a read that started then).</summary>
    public TimeSpan? FirstErasedAfterTheStart => Reads.Where(r => r.Started > DeleteStarted && r.Readable == 0).Select(r => (TimeSpan?)Stopwatch.GetElapsedTime(DeleteStarted, r.Started)).Min();

    /// <summary>
    /// Reads <paramref name="placed"/> on <paramref name="reader"/> in a loop, forgets the guest through
    /// <paramref name="forgetter"/>, and keeps reading until <paramref name="after"/> has passed since the DELETE answered
    /// and at least four reads have started after it.
    /// </summary>
    public static async Task<ForgetWatch> RunAsync(HttpClient forgetter, HttpClient reader, Guid guestId, Placed placed, TimeSpan after)
    {
        var reads = new ConcurrentQueue<WatchedRead>();
        using var stop = new CancellationTokenSource();
        var reading = Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var started = Stopwatch.GetTimestamp();
                var readable = i % 2 == 0
                    ? PersonalValues.Readable(await reader.GetReservationAsync(placed.Id))
                    : PersonalValues.Readable(await reader.GetHistoryAsync(placed.Id));
                reads.Enqueue(new WatchedRead(started, Stopwatch.GetTimestamp(), readable));
            }
        });
        await Eventually.Async(() => Task.FromResult(reads.Count), count => count >= 2 || reading.IsCompleted, "the reading node's first reads", ReservationsApi.Patience, Pause);

        var deleteStarted = Stopwatch.GetTimestamp();
        HttpStatusCode status;
        using (var forget = await forgetter.ForgetGuestAsync(guestId))
        {
            status = forget.StatusCode;
        }

        var deleteAnswered = Stopwatch.GetTimestamp();
        await Eventually.Async(
            () => Task.FromResult(reads.Count(r => r.Started > deleteAnswered)),
            count => (count >= 4 && Stopwatch.GetElapsedTime(deleteAnswered) >= after) || reading.IsCompleted,
            "reads on the reading node after the DELETE answered",
            ReservationsApi.Patience,
            Pause);
        await stop.CancelAsync();
        await reading; // a failed read fails the test here
        return new ForgetWatch(guestId, status, deleteStarted, deleteAnswered, [.. reads]);
    }

    /// <summary>The setup of <see cref="Guarantee.Setup"/> with an Application Name of its own, to find the node's backends in pg_stat_activity.</summary>
    public static AppSetup Named(AppNodes nodes, string applicationName) => Guarantee.Setup with
    {
        Settings = new Dictionary<string, string?>(Guarantee.Setup.Settings!)
        {
            ["ConnectionStrings:Postgres"] = new NpgsqlConnectionStringBuilder(nodes.ConnectionString) { ApplicationName = applicationName }.ConnectionString,
        },
    };

    /// <summary>How old the node's confirmed news of forgets is now (null: never confirmed).</summary>
    public static TimeSpan? NewsAge(ReservationsApp node) =>
        node.Services.GetRequiredService<IKeyStore>() is IForgetNotifications { DeliveredBefore: { } delivered } ? Stopwatch.GetElapsedTime(delivered) : null;

    /// <summary>"min 1.002 s, median 1.010 s, max 1.050 s".</summary>
    public static string Spread(IEnumerable<TimeSpan> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0
            ? "none"
            : $"min {sorted[0].TotalMilliseconds:0} ms, median {sorted[sorted.Length / 2].TotalMilliseconds:0} ms, max {sorted[^1].TotalMilliseconds:0} ms";
    }
}
