using Polly;
using Polly.Retry;

namespace EventSourcing.Storage;

/// <summary>
/// How the background followers of the log (reactors, the async projection runner) retry what failed: for ever, after a
/// pause that doubles from <see cref="FirstDelay"/> up to <see cref="MaxDelay"/> (with jitter, so that many followers
/// do not hammer a database that comes back all at once). A follower never gives up on the store: an outage only delays
/// it, by at most <see cref="MaxDelay"/> after the store is back.
/// </summary>
internal static class FollowerRetry
{
    public static readonly TimeSpan FirstDelay = TimeSpan.FromMilliseconds(100);

    public static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The pause before retry <paramref name="attempt"/> (from 1): <see cref="FirstDelay"/> doubling, with a quarter of
    /// jitter either way, and never more than <see cref="MaxDelay"/>. The one formula of every follower's retries.
    /// </summary>
    public static TimeSpan Pause(int attempt)
    {
        var pause = FirstDelay.TotalMilliseconds * Math.Pow(2, Math.Clamp(attempt - 1, 0, 16)) * (0.75 + (Random.Shared.NextDouble() / 2));
        return TimeSpan.FromMilliseconds(Math.Min(MaxDelay.TotalMilliseconds, pause));
    }

    /// <summary>
    /// A pipeline that retries every failure but the <paramref name="permanent"/> ones until the follower is stopped,
    /// reporting each retry (its exception, attempt number and pause) to <paramref name="onRetry"/>.
    /// </summary>
    public static ResiliencePipeline Create(TimeProvider timeProvider, Action<Exception, int, TimeSpan> onRetry, Func<Exception, bool>? permanent = null) =>
        new ResiliencePipelineBuilder { TimeProvider = timeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = arguments => ValueTask.FromResult(
                    arguments.Outcome.Exception is { } exception
                    && !arguments.Context.CancellationToken.IsCancellationRequested
                    && permanent?.Invoke(exception) != true),
                MaxRetryAttempts = int.MaxValue,
                DelayGenerator = arguments => ValueTask.FromResult<TimeSpan?>(Pause(arguments.AttemptNumber + 1)),
                OnRetry = arguments =>
                {
                    onRetry(arguments.Outcome.Exception!, arguments.AttemptNumber + 1, arguments.RetryDelay);
                    return default;
                },
            })
            .Build();
}
