using EventSourcing.Storage;

namespace EventSourcing.Core.Tests.Storage;

public sealed class FollowerRetryTests
{
    [Fact]
    public void Pauses_double_from_100_ms_with_a_quarter_of_jitter_and_never_pass_5_s()
    {
        for (var attempt = 1; attempt <= 40; attempt++)
        {
            var nominal = 100 * Math.Pow(2, Math.Min(attempt - 1, 16));
            for (var sample = 0; sample < 200; sample++)
            {
                var pause = FollowerRetry.Pause(attempt).TotalMilliseconds;
                Assert.InRange(pause, Math.Min(5_000, nominal * 0.75), Math.Min(5_000, nominal * 1.25));
            }
        }
    }

    [Fact]
    public async Task The_store_pipeline_retries_with_those_pauses_until_it_succeeds()
    {
        var pauses = new List<TimeSpan>();
        var failures = 0;
        var retry = FollowerRetry.Create(new ImmediateTime(), (_, _, pause) => pauses.Add(pause));

        await retry.ExecuteAsync(_ => failures++ < 6 ? throw new InvalidOperationException("store away") : ValueTask.CompletedTask, TestContext.Current.CancellationToken);

        Assert.Equal(6, pauses.Count);
        Assert.All(pauses.Select((pause, i) => (pause, nominal: 100 * Math.Pow(2, i))), p => Assert.InRange(p.pause.TotalMilliseconds, p.nominal * 0.75, Math.Min(5_000, p.nominal * 1.25)));
    }

    /// <summary>A clock whose delays end at once, so the test does not sleep through the pauses.</summary>
    private sealed class ImmediateTime : TimeProvider
    {
        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            callback(state);
            return new NoTimer();
        }

        private sealed class NoTimer : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => true;

            public void Dispose()
            {
            }

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}
