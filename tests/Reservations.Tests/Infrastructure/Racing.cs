using System.Diagnostics;

namespace Reservations.Tests.Infrastructure;

/// <summary>How far apart two contenders of one trial start, and which of them waits.</summary>
/// <param name="First">How long the first contender waits after the start gate opens.</param>
/// <param name="Second">How long the second one waits.</param>
public readonly record struct Spread(TimeSpan First, TimeSpan Second)
{
    /// <summary>The gap between the two starts.</summary>
    public TimeSpan Gap => (First - Second).Duration();

    /// <summary>
    /// A random spread: a gap of 0–15 ms, under a millisecond in a quarter of the trials (then spun, not slept: a
    /// timer cannot wait that little), and either contender may be the one that waits.
    /// </summary>
    public static Spread Random(Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var gap = random.Next(4) == 0
            ? TimeSpan.FromTicks(random.NextInt64(TimeSpan.TicksPerMillisecond))
            : TimeSpan.FromMilliseconds(random.NextDouble() * 15);
        return random.Next(2) == 0 ? new Spread(TimeSpan.Zero, gap) : new Spread(gap, TimeSpan.Zero);
    }
}

/// <summary>Two contenders started together behind one start gate, each after its share of a <see cref="Spread"/>.</summary>
public static class Racing
{
    private static readonly TimeSpan TimerResolution = TimeSpan.FromMilliseconds(1);

    /// <summary>Runs <paramref name="first"/> and <paramref name="second"/> on the thread pool, released together, and returns both outcomes.</summary>
    public static async Task<(T1 First, T2 Second)> RunAsync<T1, T2>(Func<Task<T1>> first, Func<Task<T2>> second, Spread spread)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var one = Task.Run(async () =>
        {
            await gate.Task;
            await WaitAsync(spread.First);
            return await first();
        });
        var two = Task.Run(async () =>
        {
            await gate.Task;
            await WaitAsync(spread.Second);
            return await second();
        });
        gate.SetResult();
        return (await one, await two);
    }

    /// <summary>Waits <paramref name="delay"/>: with a timer from a millisecond up, by spinning below.</summary>
    private static async Task WaitAsync(TimeSpan delay)
    {
        if (delay >= TimerResolution)
        {
            await Task.Delay(delay, TestContext.Current.CancellationToken);
            return;
        }

        var start = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(start) < delay)
        {
            Thread.SpinWait(20);
        }
    }
}
