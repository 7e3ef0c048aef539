using EventSourcing.Projections;
using EventSourcing.Testing.Contracts.Domain;
using Microsoft.Extensions.DependencyInjection;

namespace EventSourcing.Testing.Contracts.Projections;

public abstract partial class ProjectionContract
{
    private static Task<IReadOnlyList<ProjectionStatus>> ReadStatusAsync(ProjectionHost host) =>
        host.Services.GetRequiredService<ProjectionStatusReader>().ReadAsync(Ct);

    /// <summary>A live projection reads live in status and rebuild and verify refuse it as folded on read.</summary>
    [Fact]
    public async Task A_live_projection_reads_live_in_status_and_rebuild_and_verify_refuse_it_as_folded_on_read()
    {
        await using var host = await StartAsync((new TallyViewProjection(), ProjectionLifecycle.Live), (new BucketTotalsProjection(), ProjectionLifecycle.Async));
        var last = await TallyWorkload.AppendAsync(host.Store, 11, events: 40, streams: 8);
        await host.WaitForAsync(last, "bucket-totals");
        var stream = (await host.Store.ReadAllAsync(1, Ct).FirstAsync(Ct)).StreamId;

        var statuses = await ReadStatusAsync(host);
        var rebuild = await Assert.ThrowsAsync<NotSupportedException>(() => host.Rebuilder.RebuildAsync("tally-view", null, Ct));
        var verify = await Assert.ThrowsAsync<NotSupportedException>(() => host.Verifier.VerifyAsync("tally-view", null, Ct));

        var live = Assert.Single(statuses, s => s.Name == "tally-view");
        Assert.Equal(("live", "live", 0L, (long?)null), (live.Lifecycle, live.State, live.Lag, live.RebuildPosition));
        Assert.True(live.Position == live.Head && live.Head >= last, $"{live}");
        Assert.Equal("running", Assert.Single(statuses, s => s.Name == "bucket-totals").State);
        Assert.Contains("'tally-view' is live", rebuild.Message, StringComparison.Ordinal);
        Assert.Contains("folded on read", rebuild.Message, StringComparison.Ordinal);
        Assert.Contains("'tally-view' is live", verify.Message, StringComparison.Ordinal);
        Assert.Contains("folded on read", verify.Message, StringComparison.Ordinal);
        Assert.NotNull(await host.Views.FindAsync<TallyView>(stream, Ct)); // still read, by folding its stream
    }

    /// <summary>An async projection told to stop reads stopped at the poison event in status.</summary>
    [Fact]
    public async Task An_async_projection_told_to_stop_reads_stopped_at_the_poison_event_in_status()
    {
        await using var host = await StartHostAsync(es =>
        {
            TallyDecider.Register(es.Events);
            es.AddProjection(new FragileTallyProjection(), ProjectionLifecycle.Async, onPoisonEvent: PoisonEventPolicy.Stop);
        });
        await Add(host.Store, "tally-s", 2, 2);
        var poison = await Add(host.Store, "tally-s", 13, 15);
        await Add(host.Store, "tally-s", 1, 16);

        var status = await host.WaitForStatusAsync("fragile-tally", s => s.State != "running", TimeSpan.FromSeconds(30));

        Assert.Equal(("stopped", 1, (long?)poison.Position), (status.State, status.DeadLetters, status.StoppedAt));
        Assert.True(status.Position < poison.Position && status.Lag > 0, $"{status}");
        var letter = Assert.Single(await host.ProjectionStore.ReadDeadLettersAsync("fragile-tally", Ct));
        Assert.Equal((poison.Position, "tally-s"), (letter.Position, letter.StreamId));
        Assert.Contains("Thirteen", letter.Error, StringComparison.Ordinal);
        Assert.True((await host.ProjectionStore.ReadStateAsync("fragile-tally", Ct)).ServingPosition < poison.Position);
    }
}
