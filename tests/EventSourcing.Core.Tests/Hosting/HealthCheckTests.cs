using EventSourcing.Events;
using EventSourcing.Hosting;
using EventSourcing.Projections;
using EventSourcing.Reactors;
using EventSourcing.Storage;
using EventSourcing.Testing.Contracts.Domain;
using EventSourcing.Testing.Contracts.Projections;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace EventSourcing.Core.Tests.Hosting;

/// <summary>The health checks AddEventSourcing adds to a health checks builder: the process, the store and the followers.</summary>
public sealed class HealthCheckTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_store_that_answers_and_followers_that_keep_up_are_healthy_with_each_followers_state_and_lag()
    {
        await using var host = await StartAsync(es => es.AddProjection(new TallyViewProjection()).AddReactor<IdleReactor>());
        var appended = await host.Store.AppendAsync("tally-h", ExpectedVersion.NoStream, [new TallyIncreased(1, 1), new TallyIncreased(2, 3)], EventMetadata.Empty, Ct);
        await host.WaitForAsync(appended.Position, "tally-view");
        await host.Services.GetRequiredService<ReactorStatusReader>().WaitForAsync("idle", appended.Position, TimeSpan.FromSeconds(30), Ct);

        var live = await CheckAsync(host, EventSourcingHealthChecks.LiveTag);
        var ready = await CheckAsync(host, EventSourcingHealthChecks.ReadyTag);

        Assert.Equal(HealthStatus.Healthy, live.Status);
        Assert.Equal([EventSourcingHealthChecks.Process], live.Entries.Keys);
        Assert.Equal(HealthStatus.Healthy, ready.Status);
        Assert.Equal([EventSourcingHealthChecks.Followers, EventSourcingHealthChecks.Store], ready.Entries.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(appended.Position, ready.Entries[EventSourcingHealthChecks.Store].Data["head"]);
        var followers = ready.Entries[EventSourcingHealthChecks.Followers].Data;
        Assert.Equal(("running", 0L), Follower(followers, "tally-view"));
        Assert.Equal(("running", 0L), Follower(followers, "idle"));
    }

    [Fact]
    public async Task A_projection_stopped_at_a_poison_event_makes_the_followers_unhealthy()
    {
        await using var host = await StartAsync(es => es.AddProjection(new FragileTallyProjection(), ProjectionLifecycle.Async, onPoisonEvent: PoisonEventPolicy.Stop));
        await host.Store.AppendAsync("tally-s", ExpectedVersion.NoStream, [new TallyIncreased(2, 2), new TallyIncreased(13, 15)], EventMetadata.Empty, Ct);
        Assert.Equal(ProjectionStates.Stopped, (await host.WaitForStatusAsync("fragile-tally", s => s.State == ProjectionStates.Stopped, TimeSpan.FromSeconds(30))).State);

        var ready = await CheckAsync(host, EventSourcingHealthChecks.ReadyTag);

        Assert.Equal(HealthStatus.Unhealthy, ready.Status);
        Assert.Equal(HealthStatus.Healthy, ready.Entries[EventSourcingHealthChecks.Store].Status);
        var followers = ready.Entries[EventSourcingHealthChecks.Followers];
        Assert.Equal(HealthStatus.Unhealthy, followers.Status);
        Assert.Equal("The projection fragile-tally is stopped at position 2.", followers.Description);
        Assert.Equal(ProjectionStates.Stopped, Follower(followers.Data, "fragile-tally").State);
    }

    [Theory]
    [InlineData(HealthStatus.Degraded)]
    [InlineData(HealthStatus.Unhealthy)]
    public async Task A_projection_more_than_MaxLag_events_behind_is_reported_with_the_LagStatus(HealthStatus lagStatus)
    {
        await using var host = await StartAsync(es => es.AddProjection(new TallyViewProjection()), o => (o.MaxLag, o.LagStatus) = (2, lagStatus), startHostedServices: false);
        await host.Store.AppendAsync("tally-l", ExpectedVersion.NoStream, [new TallyIncreased(1, 1), new TallyIncreased(1, 2)], EventMetadata.Empty, Ct);

        var within = await CheckAsync(host, EventSourcingHealthChecks.ReadyTag);
        await host.Store.AppendAsync("tally-l", ExpectedVersion.Any, [new TallyIncreased(1, 3)], EventMetadata.Empty, Ct);
        var beyond = await CheckAsync(host, EventSourcingHealthChecks.ReadyTag);

        Assert.Equal(HealthStatus.Healthy, within.Status);
        Assert.Equal(("running", 2L), Follower(within.Entries[EventSourcingHealthChecks.Followers].Data, "tally-view"));
        Assert.Equal(lagStatus, beyond.Status);
        Assert.Equal("The projection tally-view is 3 events behind (more than 2).", beyond.Entries[EventSourcingHealthChecks.Followers].Description);
    }

    [Fact]
    public async Task A_reactor_that_no_process_runs_is_degraded()
    {
        await using var host = await StartAsync(es => es.AddReactor<IdleReactor>(), startHostedServices: false);

        var ready = await CheckAsync(host, EventSourcingHealthChecks.ReadyTag);

        Assert.Equal(HealthStatus.Degraded, ready.Status);
        Assert.Equal(ReactorStates.NotRunning, Follower(ready.Entries[EventSourcingHealthChecks.Followers].Data, "idle").State);
    }

    [Fact]
    public async Task A_store_that_throws_makes_the_store_and_the_followers_unhealthy_with_its_message()
    {
        var store = new FailingStore(() => Task.FromException<long>(new EventStoreUnavailableException("The test store is down.")));
        await using var host = await StartAsync(es => es.AddProjection(new TallyViewProjection()).UseStore(_ => store), startHostedServices: false);

        var ready = await CheckAsync(host, EventSourcingHealthChecks.ReadyTag);
        var live = await CheckAsync(host, EventSourcingHealthChecks.LiveTag);

        Assert.Equal(HealthStatus.Unhealthy, ready.Status);
        Assert.Equal("The event store did not answer: The test store is down.", ready.Entries[EventSourcingHealthChecks.Store].Description);
        Assert.Equal(HealthStatus.Unhealthy, ready.Entries[EventSourcingHealthChecks.Followers].Status);
        Assert.Equal(HealthStatus.Healthy, live.Status); // the process still answers
    }

    [Fact]
    public async Task A_store_that_does_not_answer_within_the_timeout_is_unhealthy()
    {
        var never = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await StartAsync(es => es.UseStore(_ => new FailingStore(() => never.Task)), o => o.Timeout = TimeSpan.FromMilliseconds(200), startHostedServices: false);

        var ready = await CheckAsync(host, EventSourcingHealthChecks.ReadyTag);

        Assert.Equal(HealthStatus.Unhealthy, ready.Entries[EventSourcingHealthChecks.Store].Status);
        Assert.Equal("The event store did not answer within 00:00:00.2000000.", ready.Entries[EventSourcingHealthChecks.Store].Description);
        Assert.Equal(HealthStatus.Unhealthy, ready.Entries[EventSourcingHealthChecks.Followers].Status);
    }

    [Fact]
    public async Task The_options_are_read_from_EventSourcing_Health_and_wrong_ones_are_refused_naming_the_setting()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["EventSourcing:Health:MaxLag"] = "25",
            ["EventSourcing:Health:LagStatus"] = "Unhealthy",
            ["EventSourcing:Health:Timeout"] = "00:00:02",
        }).Build();
        await using var host = await StartAsync(es => es.UseInMemory(), startHostedServices: false, configuration: configuration);
        var options = host.Services.GetRequiredService<IOptions<EventSourcingHealthOptions>>().Value;
        Assert.Equal((25L, HealthStatus.Unhealthy, TimeSpan.FromSeconds(2)), (options.MaxLag, options.LagStatus, options.Timeout));

        await using var wrong = await StartAsync(es => es.UseInMemory(), o => (o.MaxLag, o.Timeout) = (-1, TimeSpan.Zero), startHostedServices: false);
        var refused = Assert.Throws<OptionsValidationException>(() => wrong.Services.GetRequiredService<IOptions<EventSourcingHealthOptions>>().Value);
        Assert.Contains("EventSourcing:Health:MaxLag must be 0 or more (it is -1).", refused.Failures);
        Assert.Contains("EventSourcing:Health:Timeout must be longer than zero (it is 00:00:00).", refused.Failures);
    }

    private static Task<ProjectionHost> StartAsync(
        Action<EventSourcingBuilder> configure, Action<EventSourcingHealthOptions>? options = null, bool startHostedServices = true, IConfiguration? configuration = null) =>
        ProjectionHost.StartAsync(
            es =>
            {
                TallyDecider.Register(es.Events);
                configure(es);
            },
            startHostedServices,
            services =>
            {
                if (configuration is not null)
                {
                    services.AddSingleton(configuration);
                }

                services.AddHealthChecks().AddEventSourcing(options);
            });

    private static Task<HealthReport> CheckAsync(ProjectionHost host, string tag) =>
        host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(registration => registration.Tags.Contains(tag), Ct);

    private static (string State, long Lag) Follower(IReadOnlyDictionary<string, object> data, string name) =>
        Assert.IsType<ProjectionStatus>(data[name]) is var status ? (status.State, status.Lag) : default;

    /// <summary>A reactor that does nothing: only its status matters here.</summary>
    private sealed class IdleReactor : Reactor
    {
        public override string Name => "idle";

        public override Task ReactAsync(EventEnvelope envelope, CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>A store whose head is what <paramref name="head"/> answers; nothing else is used.</summary>
    private sealed class FailingStore(Func<Task<long>> head) : IEventStore
    {
        public Task<long> ReadHeadPositionAsync(CancellationToken cancellationToken) => head().WaitAsync(cancellationToken);

        public Task<AppendResult> AppendAsync(string streamId, ExpectedVersion expectedVersion, IReadOnlyList<object> events, EventMetadata metadata, CancellationToken cancellationToken) =>
            throw new NotSupportedException();

        public IAsyncEnumerable<EventEnvelope> ReadStreamAsync(string streamId, long fromVersion, CancellationToken cancellationToken) => throw new NotSupportedException();

        public IAsyncEnumerable<EventEnvelope> ReadAllAsync(long fromPosition, CancellationToken cancellationToken) => throw new NotSupportedException();

        public IAsyncEnumerable<LogPage> FollowAsync(long fromPosition, IReadOnlySet<string>? eventTypes, CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}
