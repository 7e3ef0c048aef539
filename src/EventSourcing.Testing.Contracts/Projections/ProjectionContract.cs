using EventSourcing.Events;
using EventSourcing.Hosting;
using EventSourcing.Projections;
using EventSourcing.Storage;
using EventSourcing.Testing.Contracts.Domain;

namespace EventSourcing.Testing.Contracts.Projections;

/// <summary>What projections must do on every store, written once; a store's test class says how to start a host on it.</summary>
public abstract partial class ProjectionContract
{
    /// <summary>The running test's cancellation token.</summary>
    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Starts an application on the store under test, configured by <paramref name="configure"/>, with a fresh, empty log.</summary>
    protected abstract Task<ProjectionHost> StartHostAsync(Action<EventSourcingBuilder> configure);

    private Task<ProjectionHost> StartAsync(params (IProjection Projection, ProjectionLifecycle Lifecycle)[] projections) =>
        StartHostAsync(es =>
        {
            TallyDecider.Register(es.Events);
            foreach (var (projection, lifecycle) in projections)
            {
                es.AddProjection(projection, lifecycle);
            }
        });

    /// <summary>The workload seeds of the live-against-rebuild comparison.</summary>
    public static TheoryData<int> Seeds => [.. Enumerable.Range(1, 8)];

    /// <summary>Views from live running equal views from a full rebuild.</summary>
    [Theory]
    [MemberData(nameof(Seeds))]
    public async Task Views_from_live_running_equal_views_from_a_full_rebuild(int seed)
    {
        await using var host = await StartAsync(
            (new TallyViewProjection(), ProjectionLifecycle.Async),
            (new BucketTotalsProjection(), ProjectionLifecycle.Async),
            (new OpenTalliesProjection(), ProjectionLifecycle.Inline));
        var last = await TallyWorkload.AppendAsync(host.Store, seed, events: 240, streams: 16);
        await host.WaitForAsync(last, "tally-view", "bucket-totals", "open-tallies");

        foreach (var projection in new[] { "tally-view", "bucket-totals", "open-tallies" })
        {
            var live = await host.Verifier.HashServingAsync(projection, Ct);
            var rebuilt = await host.Rebuilder.RebuildAsync(projection, null, Ct);
            var verified = await host.Verifier.VerifyAsync(projection, null, Ct);

            Assert.Equal(live, await host.Verifier.HashServingAsync(projection, Ct));
            Assert.True(rebuilt.Position >= last);
            Assert.True(verified.Equal, $"{projection} differs on {string.Join(", ", verified.DifferingIds)}");
            Assert.True(verified.Compared > 0);
        }

        var all = await host.Views.FindAsync<BucketTotal>("all", Ct);
        var buckets = await host.Views.QueryAsync<BucketTotal>(b => b.Id.StartsWith("bucket-"), Ct);
        Assert.NotNull(all);
        Assert.Equal(all.Sum, buckets.Sum(b => b.Sum));
        Assert.Equal(all.Events, buckets.Sum(b => b.Events));
    }

    /// <summary>A non deterministic projection is caught by verify.</summary>
    [Fact]
    public async Task A_non_deterministic_projection_is_caught_by_verify()
    {
        await using var host = await StartAsync((new ClockedTallyProjection(), ProjectionLifecycle.Async), (new TallyViewProjection(), ProjectionLifecycle.Async));
        var last = await TallyWorkload.AppendAsync(host.Store, 7, events: 60, streams: 8);
        await host.WaitForAsync(last, "clocked-tally", "tally-view");

        var clocked = await host.Verifier.VerifyAsync("clocked-tally", null, Ct);
        var honest = await host.Verifier.VerifyAsync("tally-view", null, Ct);

        Assert.False(clocked.Equal);
        Assert.Equal(clocked.Compared, clocked.DifferingIds.Count);
        Assert.True(honest.Equal);
    }

    /// <summary>A rebuild cancelled half way resumes and ends with the same hash while readers keep the serving views.</summary>
    [Fact]
    public async Task A_rebuild_cancelled_half_way_resumes_and_ends_with_the_same_hash_while_readers_keep_the_serving_views()
    {
        await using var host = await StartHostAsync(es =>
        {
            TallyDecider.Register(es.Events);
            es.AddProjection(new TallyViewProjection(), ProjectionLifecycle.Async);
            es.SetRebuildPageSize(1_000); // five pages: the rebuild is interrupted between two of them
        });
        var last = await TallyWorkload.AppendAsync(host.Store, 3, events: 5_000, streams: 40);
        await host.WaitForAsync(last, "tally-view");
        var uninterrupted = await host.Verifier.HashServingAsync("tally-view", Ct);
        var before = await host.Views.QueryAsync<TallyView>(_ => true, Ct);

        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var progress = new CancelAt(last / 2, cancel);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => host.Rebuilder.RebuildAsync("tally-view", progress, cancel.Token));
        var interrupted = await host.ProjectionStore.ReadStateAsync("tally-view", Ct);
        var during = await host.Views.QueryAsync<TallyView>(_ => true, Ct);
        var resumed = await host.Rebuilder.RebuildAsync("tally-view", null, Ct);

        Assert.NotNull(interrupted.BuildingGeneration);
        Assert.InRange(interrupted.BuildingPosition, 1, last - 1);
        Assert.Equal(before, during);
        Assert.True(resumed.Resumed);
        Assert.Equal(interrupted.BuildingGeneration, resumed.Generation);
        Assert.Equal(uninterrupted, await host.Verifier.HashServingAsync("tally-view", Ct));
    }

    /// <summary>Cancels once a rebuild reports a position at or past <paramref name="position"/> (synchronously, unlike Progress&lt;T&gt;).</summary>
    private sealed class CancelAt(long position, CancellationTokenSource cancel) : IProgress<RebuildProgress>
    {
        public void Report(RebuildProgress value)
        {
            if (value.Position >= position)
            {
                cancel.Cancel();
            }
        }
    }
}
