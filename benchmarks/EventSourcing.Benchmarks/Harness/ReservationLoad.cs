using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;

namespace EventSourcing.Benchmarks.Harness;

/// <summary>Requests sent, how many failed, and the rate they were answered at.</summary>
public sealed record ThroughputResult(long Requests, long Failures, double Rate);

/// <summary>An open-loop run: requests, failures, the rate achieved and latencies (ms) from each request's scheduled start.</summary>
public sealed record LatencyResult(long Requests, long Failures, double Rate, double P50, double P99, double Max);

/// <summary>Places reservations: each request a new guest, a new key and a day within the coming year.</summary>
internal sealed class ReservationLoad(HttpClient client)
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _failures = new(StringComparer.Ordinal);
    private long _sequence;

    /// <summary>What the failed requests got so far: a status code, or the exception's type.</summary>
    public string Failures => _failures.IsEmpty ? "none" : string.Join(", ", _failures.OrderBy(f => f.Key, StringComparer.Ordinal).Select(f => $"{f.Key} x{f.Value}"));

    public async Task<ThroughputResult> ClosedLoopAsync(int clients, TimeSpan duration, CancellationToken cancellationToken)
    {
        long requests = 0, failures = 0;
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(
            async () =>
            {
                while (watch.Elapsed < duration)
                {
                    var ok = await PlaceAsync(cancellationToken).ConfigureAwait(false);
                    Interlocked.Increment(ref requests);
                    if (!ok)
                    {
                        Interlocked.Increment(ref failures);
                    }
                }
            },
            cancellationToken))).ConfigureAwait(false);
        return new ThroughputResult(requests, failures, requests / watch.Elapsed.TotalSeconds);
    }

    /// <summary>Places exactly <paramref name="count"/> reservations with <paramref name="clients"/> concurrent clients.</summary>
    public async Task<ThroughputResult> PlaceAsync(int count, int clients, CancellationToken cancellationToken)
    {
        long left = count, failures = 0;
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(
            async () =>
            {
                while (Interlocked.Decrement(ref left) >= 0)
                {
                    if (!await PlaceAsync(cancellationToken).ConfigureAwait(false))
                    {
                        Interlocked.Increment(ref failures);
                    }
                }
            },
            cancellationToken))).ConfigureAwait(false);
        return new ThroughputResult(count, failures, count / watch.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// Places <paramref name="count"/> reservations one after another, the i-th scheduled <paramref name="interval"/> × i
    /// after the start (at once when the one before took longer): the same pace whatever the machine's speed.
    /// </summary>
    public async Task<ThroughputResult> PacedAsync(int count, TimeSpan interval, CancellationToken cancellationToken)
    {
        long failures = 0;
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            var wait = (interval * i) - watch.Elapsed;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
            }

            if (!await PlaceAsync(cancellationToken).ConfigureAwait(false))
            {
                failures++;
            }
        }

        return new ThroughputResult(count, failures, count / watch.Elapsed.TotalSeconds);
    }

    public async Task<LatencyResult> OpenLoopAsync(double rate, TimeSpan duration, CancellationToken cancellationToken)
    {
        var total = (long)(rate * duration.TotalSeconds);
        var latencies = new double[total];
        long failures = 0;
        var running = new List<Task>((int)Math.Min(total, int.MaxValue));
        var watch = Stopwatch.StartNew();
        for (long i = 0; i < total; i++)
        {
            var scheduled = TimeSpan.FromSeconds(i / rate);
            var wait = scheduled - watch.Elapsed;
            if (wait > TimeSpan.FromMilliseconds(1))
            {
                await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
            }

            var index = i;
            running.Add(Task.Run(
                async () =>
                {
                    var ok = await PlaceAsync(cancellationToken).ConfigureAwait(false);
                    latencies[index] = (watch.Elapsed - scheduled).TotalMilliseconds;
                    if (!ok)
                    {
                        Interlocked.Increment(ref failures);
                    }
                },
                cancellationToken));
        }

        await Task.WhenAll(running).ConfigureAwait(false);
        var elapsed = watch.Elapsed.TotalSeconds;
        Array.Sort(latencies);
        return new LatencyResult(total, failures, total / elapsed, Rounds.Percentile(latencies, 50), Rounds.Percentile(latencies, 99), latencies.Length > 0 ? latencies[^1] : double.NaN);
    }

    private bool Failed(string kind)
    {
        _failures.AddOrUpdate(kind, 1, (_, count) => count + 1);
        return false;
    }

    private async Task<bool> PlaceAsync(CancellationToken cancellationToken)
    {
        var n = Interlocked.Increment(ref _sequence);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/reservations")
        {
            Content = JsonContent.Create(new
            {
                guestId = Guid.NewGuid(),
                guestName = $"Guest {n}",
                guestEmail = $"guest{n}@example.com",
                guestPhone = "+44 20 7946 0000",
                day = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(1 + (int)(n % 360)),
                partySize = 1 + (int)(n % 4),
            }),
        };
        request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString());
        try
        {
            using var response = await client.SendAsync(request, cancellationToken).ConfigureAwait(false);
            return response.StatusCode == HttpStatusCode.Accepted || Failed(((int)response.StatusCode).ToString(CultureInfo.InvariantCulture));
        }
        catch (HttpRequestException exception)
        {
            return Failed($"{nameof(HttpRequestException)} ({exception.HttpRequestError})");
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Failed("client timeout (30 s)");
        }
    }
}
