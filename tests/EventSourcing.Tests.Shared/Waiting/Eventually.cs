using System.Diagnostics;
using System.Text.Json;

namespace EventSourcing.Tests.Shared.Waiting;

/// <summary>
/// Waits for a condition that comes true by itself (a follower catching up, a process taking over), polling it (never a
/// fixed sleep), and fails the test with what was awaited when it has not come true within the patience given.
/// Cancelled with the test.
/// </summary>
public static class Eventually
{
    /// <summary>How long a test waits by default for followers, reactors and processes before it fails.</summary>
    public static readonly TimeSpan DefaultPatience = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan DefaultPoll = TimeSpan.FromMilliseconds(20);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Polls <paramref name="condition"/> until it holds; fails naming <paramref name="what"/> after <paramref name="patience"/>.</summary>
    public static Task UntilAsync(Func<bool> condition, string what, TimeSpan patience, TimeSpan? poll = null) =>
        UntilAsync(() => Task.FromResult(condition()), what, patience, poll);

    /// <summary>
    /// Polls <paramref name="condition"/> until it holds; fails naming <paramref name="what"/> after <paramref name="patience"/>,
    /// with <paramref name="state"/>'s description of where things stood, when given.
    /// </summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan patience, TimeSpan? poll = null, Func<string>? state = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        if (!await WithinAsync(condition, patience, poll ?? DefaultPoll).ConfigureAwait(false))
        {
            Assert.Fail($"waited {patience.TotalSeconds:0.#} s for {what}. {state?.Invoke()}".TrimEnd());
        }
    }

    /// <summary>Polls <paramref name="probe"/> until <paramref name="done"/> holds of its value, and returns it; fails after <see cref="DefaultPatience"/>, showing the last value.</summary>
    public static Task<T> Async<T>(Func<Task<T>> probe, Func<T, bool> done, string what) =>
        Async(probe, done, what, DefaultPatience, DefaultPoll);

    /// <summary>Polls <paramref name="probe"/> until <paramref name="done"/> holds of its value, and returns it; fails after <paramref name="timeout"/>, showing the last value.</summary>
    public static async Task<T> Async<T>(Func<Task<T>> probe, Func<T, bool> done, string what, TimeSpan timeout, TimeSpan pause)
    {
        ArgumentNullException.ThrowIfNull(probe);
        ArgumentNullException.ThrowIfNull(done);
        var last = default(T);
        if (!await WithinAsync(async () => done(last = await probe().ConfigureAwait(false)), timeout, pause).ConfigureAwait(false))
        {
            Assert.Fail($"Waited {timeout.TotalSeconds} s for {what}; last seen: {Describe(last)}");
        }

        return last!;
    }

    /// <summary>
    /// Polls until <paramref name="done"/> holds, at most <paramref name="timeout"/>, and says whether it did: for a
    /// test that checks something does not happen within a time, or that measures how long it takes.
    /// </summary>
    public static async Task<bool> WithinAsync(Func<Task<bool>> done, TimeSpan timeout, TimeSpan pause)
    {
        ArgumentNullException.ThrowIfNull(done);
        var cancellationToken = TestContext.Current.CancellationToken;
        var waited = Stopwatch.StartNew();
        using var timer = new PeriodicTimer(pause);
        while (!await done().ConfigureAwait(false))
        {
            if (waited.Elapsed > timeout)
            {
                return false;
            }

            await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false);
        }

        return true;
    }

    private static string Describe<T>(T value)
    {
        var json = JsonSerializer.Serialize(value, Json);
        return json.Length > 2000 ? string.Concat(json.AsSpan(0, 2000), "…") : json;
    }
}
