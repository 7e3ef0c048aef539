using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.Faults;

/// <summary>How long another process takes to run the reactor once the one running it is gone, measured on the run's clock.</summary>
public static class ReactorTakeover
{
    /// <summary>
    /// The longest a takeover may take, from the design: the lock goes with the leader's session, which the server ends
    /// as soon as its socket closes (a process killed outright, a backend terminated); the standby tries to be elected
    /// every second (<c>ReactorRunner.ElectionInterval</c>), then follows from the last committed checkpoint (at most
    /// 250 ms or 100 events behind: handled again, harmlessly) and takes a new reservation through its two hops. About
    /// 1.5 s by design; 5 s leaves the slack a loaded 2-core machine needs, and still fails a takeover that waits on
    /// anything slower than the election (a pool timeout, a TCP keepalive, a lock wait).
    /// </summary>
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// Places a reservation on <paramref name="successor"/> (on the first day: confirmed or rejected, either will do),
    /// then waits until <paramref name="successor"/> holds the reactor's lock and the log has the reservation decided;
    /// returns both times, from <paramref name="fault"/> on the run's clock (null: not within <paramref name="patience"/>,
    /// longer than the bound so that a slow takeover is measured, not only failed).
    /// </summary>
    public static async Task<Takeover> MeasureAsync(LoadedSample run, SampleNode successor, TimeSpan fault, TimeSpan patience)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(successor);
        var probe = await successor.Client.PlaceAcceptedAsync(Bodies.Valid(run.Days[0], partySize: 1, guestName: "Takeover probe", guestEmail: "probe@example.com"), Guid.NewGuid().ToString());
        var placed = run.Now - fault;
        var leading = TimedAsync(run, fault, patience, async () => (await run.Leadership.HolderAsync())?.Node == successor.Name);
        var decided = TimedAsync(run, fault, patience, async () => await run.Log.StatusOfAsync(probe.Id) is "confirmed" or "rejected");
        return new Takeover(probe.Id, placed, await leading, await decided);
    }

    /// <summary>Waits until <paramref name="done"/>, at most <paramref name="patience"/>; returns when it held, from <paramref name="from"/>, or null.</summary>
    public static async Task<TimeSpan?> TimedAsync(LoadedSample run, TimeSpan from, TimeSpan patience, Func<Task<bool>> done)
    {
        ArgumentNullException.ThrowIfNull(run);
        return await Eventually.WithinAsync(done, patience, Poll) ? run.Now - from : null;
    }
}

/// <summary>
/// A takeover as measured from the fault: when the probe reservation was acknowledged, when the successor held the
/// lock, when the probe was decided (null: not within the patience).
/// </summary>
public sealed record Takeover(Guid Probe, TimeSpan Placed, TimeSpan? Leading, TimeSpan? Decided)
{
    /// <summary>Until the successor runs the reactor and reservations placed after the fault are decided; null when either did not come.</summary>
    public TimeSpan? Total => Leading is { } leading && Decided is { } decided ? (leading > decided ? leading : decided) : null;

    public bool Within(TimeSpan bound) => Total <= bound;

    public string Describe() => $"probe acknowledged {LoadFigures.Milliseconds(Placed)} ms, lock held {Show(Leading)}, probe decided {Show(Decided)}";

    public static string Show(TimeSpan? span) => span is { } s ? $"{LoadFigures.Milliseconds(s)} ms" : "never";
}
