using System.Diagnostics;

namespace EventSourcing.Benchmarks.Harness;

/// <summary>
/// Runs the variants of a comparison in interleaved rounds (A, B, C, A, B, C, ...) so drift on a noisy machine hits
/// them alike, and keeps the median of each.
/// </summary>
public static class Rounds
{
    public static async Task<IReadOnlyDictionary<string, VariantTiming>> InterleaveAsync(
        int rounds,
        IReadOnlyList<(string Name, Func<int, CancellationToken, Task> Run)> variants,
        Action<string>? log,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(variants);
        ArgumentOutOfRangeException.ThrowIfLessThan(rounds, 1);
        var times = variants.ToDictionary(v => v.Name, _ => new List<TimeSpan>(), StringComparer.Ordinal);
        var cpu = variants.ToDictionary(v => v.Name, _ => default(CpuSample), StringComparer.Ordinal);
        for (var round = -1; round < rounds; round++)
        {
            foreach (var (name, run) in variants)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var before = CpuSample.Take();
                var watch = Stopwatch.StartNew();
                await run(round, cancellationToken).ConfigureAwait(false);
                watch.Stop();
                if (round >= 0)
                {
                    times[name].Add(watch.Elapsed);
                    cpu[name] += CpuSample.Take() - before;
                }

                log?.Invoke($"{(round < 0 ? "warm-up" : $"round {round + 1}/{rounds}")} {name}: {watch.Elapsed.TotalMilliseconds:N0} ms");
            }
        }

        return times.ToDictionary(pair => pair.Key, pair => new VariantTiming(Median(pair.Value), cpu[pair.Key], rounds), StringComparer.Ordinal);
    }

    public static TimeSpan Median(IReadOnlyList<TimeSpan> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>The value at <paramref name="percentile"/> (0–100) of sorted <paramref name="sorted"/>, nearest rank.</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double percentile)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        if (sorted.Count == 0)
        {
            return double.NaN;
        }

        var rank = (int)Math.Ceiling(percentile / 100 * sorted.Count);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
    }
}
