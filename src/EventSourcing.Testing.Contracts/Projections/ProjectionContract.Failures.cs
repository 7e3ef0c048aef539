using EventSourcing.Events;
using EventSourcing.Projections;
using EventSourcing.Storage;
using EventSourcing.Testing.Contracts.Domain;

namespace EventSourcing.Testing.Contracts.Projections;

public abstract partial class ProjectionContract
{
    private static Task<AppendResult> Add(IEventStore store, string stream, int amount, int total) =>
        store.AppendAsync(stream, ExpectedVersion.Any, [new TallyIncreased(amount, total)], EventMetadata.Empty, Ct);

    /// <summary>A poison event is dead lettered and later events are still projected.</summary>
    [Fact]
    public async Task A_poison_event_is_dead_lettered_and_later_events_are_still_projected()
    {
        await using var host = await StartAsync((new FragileTallyProjection(), ProjectionLifecycle.Async));
        await Add(host.Store, "tally-a", 5, 5);
        var poison = await Add(host.Store, "tally-a", 13, 18);
        await Add(host.Store, "tally-a", 2, 20);
        var last = await Add(host.Store, "tally-b", 1, 1);

        await host.WaitForAsync(last.Position, "fragile-tally");
        var letters = await host.ProjectionStore.ReadDeadLettersAsync("fragile-tally", Ct);

        var letter = Assert.Single(letters);
        Assert.Equal((poison.Position, "tally-a", "tally-increased.v1"), (letter.Position, letter.StreamId, letter.EventType));
        Assert.Contains("Thirteen", letter.Error, StringComparison.Ordinal);
        Assert.Equal(new FragileTally("tally-a", 20, 2), await host.Views.FindAsync<FragileTally>("tally-a", Ct));
        Assert.Equal(new FragileTally("tally-b", 1, 1), await host.Views.FindAsync<FragileTally>("tally-b", Ct));
    }

    /// <summary>A rebuild stops on a poison event with a report and the serving views stay.</summary>
    [Fact]
    public async Task A_rebuild_stops_on_a_poison_event_with_a_report_and_the_serving_views_stay()
    {
        await using var host = await StartAsync((new FragileTallyProjection(), ProjectionLifecycle.Async));
        await Add(host.Store, "tally-a", 5, 5);
        var poison = await Add(host.Store, "tally-a", 13, 18);
        var last = await Add(host.Store, "tally-a", 2, 20);
        await host.WaitForAsync(last.Position, "fragile-tally");

        var failure = await Assert.ThrowsAsync<ProjectionFailedException>(() => host.Rebuilder.RebuildAsync("fragile-tally", null, Ct));

        Assert.Equal(poison.Position, failure.Failure.Position);
        Assert.Contains("fragile-tally", failure.Message, StringComparison.Ordinal);
        Assert.Equal(new FragileTally("tally-a", 20, 2), await host.Views.FindAsync<FragileTally>("tally-a", Ct));
    }

    /// <summary>Waiting for a position returns once the view reflects the append and times out cleanly otherwise.</summary>
    [Fact]
    public async Task Waiting_for_a_position_returns_once_the_view_reflects_the_append_and_times_out_cleanly_otherwise()
    {
        await using var host = await StartAsync((new TallyViewProjection(), ProjectionLifecycle.Async));
        var appended = await Add(host.Store, "tally-w", 4, 4);

        var reached = await host.Views.WaitForPositionAsync<TallyView>(appended.Position, TimeSpan.FromSeconds(30), Ct);
        var view = await host.Views.FindAsync<TallyView>("tally-w", Ct);
        var started = DateTimeOffset.UtcNow;
        var unreachable = await host.Views.WaitForPositionAsync<TallyView>(appended.Position + 1_000, TimeSpan.FromMilliseconds(300), Ct);

        Assert.True(reached);
        Assert.Equal(4, view?.Total);
        Assert.False(unreachable);
        Assert.InRange(DateTimeOffset.UtcNow - started, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(10));
    }

    /// <summary>An inline projection is current when the append returns and a failing one fails the append.</summary>
    [Fact]
    public async Task An_inline_projection_is_current_when_the_append_returns_and_a_failing_one_fails_the_append()
    {
        await using var host = await StartAsync((new TallyViewProjection(), ProjectionLifecycle.Inline), (new FragileTallyProjection(), ProjectionLifecycle.Inline));
        await Add(host.Store, "tally-i", 6, 6);

        var current = await host.Views.FindAsync<TallyView>("tally-i", Ct);
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => Add(host.Store, "tally-i", 13, 19));

        Assert.Equal(6, current?.Total);
        Assert.Contains("Thirteen", failure.ToString(), StringComparison.Ordinal);
        Assert.Single(await host.Store.ReadStreamAsync("tally-i", 1, Ct).ToListAsync(Ct));
        Assert.Equal(6, (await host.Views.FindAsync<TallyView>("tally-i", Ct))?.Total);
    }

    /// <summary>A live projection folds the stream on read.</summary>
    [Fact]
    public async Task A_live_projection_folds_the_stream_on_read()
    {
        await using var host = await StartAsync((new TallyViewProjection(), ProjectionLifecycle.Live));
        await Add(host.Store, "tally-l", 3, 3);
        await Add(host.Store, "tally-l", 4, 7);
        await host.Store.AppendAsync("tally-l", ExpectedVersion.Any, [new TallyClosed(7)], EventMetadata.Empty, Ct);

        var view = await host.Views.FindAsync<TallyView>("tally-l", Ct);

        Assert.Equal((7, 2, true), (view!.Total, view.Additions, view.Closed));
        Assert.Null(await host.Views.FindAsync<TallyView>("tally-missing", Ct));
    }
}
