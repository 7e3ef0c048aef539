using System.Diagnostics;
using System.Globalization;

namespace EventSourcing.Benchmarks.Harness;

/// <summary>Waits on a condition, checked at an interval, for at most a timeout: no fixed sleeps.</summary>
internal static class Poll
{
    /// <summary>Checks <paramref name="condition"/> until it holds; a <see cref="TimeoutException"/> names <paramref name="what"/> once <paramref name="timeout"/> has passed.</summary>
    public static async Task UntilAsync(Func<CancellationToken, Task<bool>> condition, TimeSpan interval, TimeSpan timeout, string what, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var watch = Stopwatch.StartNew();
        using var tick = new PeriodicTimer(interval);
        while (!await condition(cancellationToken).ConfigureAwait(false))
        {
            if (watch.Elapsed > timeout)
            {
                throw new TimeoutException($"Waited {timeout.TotalSeconds.ToString("0", CultureInfo.InvariantCulture)} s for {what}.");
            }

            await tick.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
