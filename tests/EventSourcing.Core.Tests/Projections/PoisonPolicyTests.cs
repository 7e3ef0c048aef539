using System.Text;
using EventSourcing.Events;
using EventSourcing.Projections;
using EventSourcing.Storage;
using EventSourcing.Testing.Contracts.Domain;
using EventSourcing.Testing.Contracts.Projections;

namespace EventSourcing.Core.Tests.Projections;

public sealed class PoisonPolicyTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_rebuild_told_to_dead_letter_completes_and_keeps_one_letter_per_event()
    {
        await using var host = await ProjectionHost.StartAsync(es =>
        {
            TallyDecider.Register(es.Events);
            es.AddProjection(new FragileTallyProjection(), ProjectionLifecycle.Async, onPoisonEventInRebuild: PoisonEventPolicy.DeadLetter);
        });
        await host.Store.AppendAsync("tally-p", ExpectedVersion.NoStream, [new TallyIncreased(13, 13), new TallyIncreased(1, 14)], EventMetadata.Empty, Ct);
        await host.WaitForAsync(2, "fragile-tally");

        var rebuilt = await host.Rebuilder.RebuildAsync("fragile-tally", null, Ct);

        Assert.Equal(2, rebuilt.Position);
        Assert.Equal(new FragileTally("tally-p", 14, 1), await host.Views.FindAsync<FragileTally>("tally-p", Ct));
        Assert.Single(await host.ProjectionStore.ReadDeadLettersAsync("fragile-tally", Ct));
    }

    [Fact]
    public async Task A_projection_told_to_stop_stops_at_the_poison_event_and_reports_it()
    {
        await using var host = await ProjectionHost.StartAsync(es =>
        {
            TallyDecider.Register(es.Events);
            es.AddProjection(new FragileTallyProjection(), ProjectionLifecycle.Async, onPoisonEvent: PoisonEventPolicy.Stop);
        });
        await host.Store.AppendAsync("tally-s", ExpectedVersion.NoStream, [new TallyIncreased(2, 2), new TallyIncreased(13, 15), new TallyIncreased(1, 16)], EventMetadata.Empty, Ct);

        var passed = await host.Views.WaitForPositionAsync<FragileTally>(3, TimeSpan.FromMilliseconds(500), Ct);
        var stopped = await host.WaitForStatusAsync("fragile-tally", s => s.State == ProjectionStates.Stopped, TimeSpan.FromSeconds(10));

        Assert.False(passed);
        Assert.Equal(2, stopped.StoppedAt);
        Assert.Equal(2, Assert.Single(await host.ProjectionStore.ReadDeadLettersAsync("fragile-tally", Ct)).Position); // kept, but not passed
        Assert.True((await host.ProjectionStore.ReadStateAsync("fragile-tally", Ct)).ServingPosition < 2);
    }

    [Fact]
    public async Task An_event_that_cannot_be_read_is_dead_lettered_while_following_the_log_and_later_events_are_projected()
    {
        await using var host = await StartTallyViewAsync();
        var (unreadable, last) = await AppendAroundUnreadableAsync(host);

        await host.WaitForAsync(last, "tally-view");

        var letter = Assert.Single(await host.ProjectionStore.ReadDeadLettersAsync("tally-view", Ct));
        Assert.Equal((unreadable, "tally-increased.v1", "tally-u"), (letter.Position, letter.EventType, letter.StreamId));
        Assert.StartsWith(nameof(EventDeserializationException), letter.Error, StringComparison.Ordinal);
        Assert.Equal(3, (await host.Views.FindAsync<TallyView>("tally-u", Ct))?.Total);
    }

    [Fact]
    public async Task A_rebuild_stops_on_an_event_that_cannot_be_read_with_a_report_naming_it()
    {
        await using var host = await StartTallyViewAsync();
        var (unreadable, last) = await AppendAroundUnreadableAsync(host);
        await host.WaitForAsync(last, "tally-view");

        var failure = await Assert.ThrowsAsync<ProjectionFailedException>(() => host.Rebuilder.RebuildAsync("tally-view", null, Ct));

        Assert.Equal(unreadable, failure.Failure.Position);
        Assert.IsType<EventDeserializationException>(failure.InnerException);
        Assert.Equal(3, (await host.Views.FindAsync<TallyView>("tally-u", Ct))?.Total);
    }

    private static Task<ProjectionHost> StartTallyViewAsync() => ProjectionHost.StartAsync(es =>
    {
        TallyDecider.Register(es.Events);
        es.AddProjection(new TallyViewProjection()).UseInMemory();
    });

    private static async Task<(long Unreadable, long Last)> AppendAroundUnreadableAsync(ProjectionHost host)
    {
        var store = (InMemoryEventStore)host.Store;
        await store.AppendAsync("tally-u", ExpectedVersion.Any, [new TallyIncreased(1, 1)], EventMetadata.Empty, Ct);
        var unreadable = await store.AppendSerializedAsync("tally-u", ExpectedVersion.Any, [new SerializedEvent("tally-increased.v1", Encoding.UTF8.GetBytes("""{"amount":"lots"}"""))], EventMetadata.Empty);
        var last = await store.AppendAsync("tally-u", ExpectedVersion.Any, [new TallyIncreased(2, 3)], EventMetadata.Empty, Ct);
        return (unreadable.Position, last.Position);
    }
}
