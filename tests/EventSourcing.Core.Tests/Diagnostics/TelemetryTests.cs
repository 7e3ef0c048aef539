using System.Diagnostics;
using EventSourcing.Deciders;
using EventSourcing.Diagnostics;
using EventSourcing.Erasure;
using EventSourcing.Testing.Contracts.Privacy;
using EventSourcing.Testing.Contracts.Projections;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using EventSourcing.Tests.Shared.Waiting;

namespace EventSourcing.Core.Tests.Diagnostics;

/// <summary>
/// What the library emits through <see cref="System.Diagnostics"/>: one trace from a request through the reaction it
/// causes, measurements that move as they should, and no personal value in any span, measurement or log line.
/// </summary>
public sealed class TelemetryTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_command_and_the_reaction_it_causes_are_one_trace_from_the_request_to_the_reactor_s_command()
    {
        using var telemetry = new TelemetryCollector();
        await using var host = await ProjectionHost.StartAsync(es =>
        {
            Counters.Register(es);
            es.AddReactor<CounterSealer>(o => o.CheckpointEvery = 1);
            es.AddProjection(new CounterProjection());
        });
        var id = Guid.NewGuid().ToString("N");

        ActivityTraceId trace;
        using (var request = telemetry.Test.StartActivity("POST /counters"))
        {
            trace = request!.TraceId;
            await host.Services.GetRequiredService<ICommandSender>().SendAsync(new BumpCounter(id), Ct);
        }

        await UntilAsync(async () =>
            await host.Views.FindAsync<CounterView>(Counters.StreamOf(id), Ct) is { Sealed: true }
            && telemetry.InTrace(trace).Any(s => s.DisplayName == "command SealCounter")
            && telemetry.InTrace(trace).Where(s => s.DisplayName == "append telemetrycounter").OrderBy(s => s.StartTimeUtc).Skip(1).FirstOrDefault() is { } second
            && telemetry.Spans.Any(s => s.DisplayName == $"project {CounterProjection.ProjectionName}" && s.Links.Any(l => l.Context.SpanId == second.SpanId)),
            () => string.Join("; ", telemetry.Spans.Select(s => $"{s.DisplayName} {s.TraceId} {s.ParentSpanId}")));

        var spans = telemetry.InTrace(trace).ToList();
        var bump = Assert.Single(spans, s => s.DisplayName == "command BumpCounter");
        var decide = Assert.Single(spans, s => s.DisplayName == "decide BumpCounter");
        var appends = spans.Where(s => s.DisplayName == "append telemetrycounter").OrderBy(s => s.StartTimeUtc).ToList();
        var react = Assert.Single(spans, s => s.DisplayName == $"react {CounterSealer.ReactorName}");
        var seal = Assert.Single(spans, s => s.DisplayName == "command SealCounter");

        Assert.Equal(2, appends.Count);
        Assert.Equal("POST /counters", spans.Single(s => s.SpanId == bump.ParentSpanId).DisplayName);
        Assert.Equal(bump.SpanId, decide.ParentSpanId);
        Assert.Equal(bump.SpanId, appends[0].ParentSpanId);
        Assert.Equal(ActivityKind.Producer, appends[0].Kind);
        Assert.Equal(("succeeded", "BumpCounter"), (bump.GetTagItem("eventsourcing.command.outcome"), bump.GetTagItem("eventsourcing.command.type")));
        Assert.Equal(("telemetrycounter", 1, "memory"), (appends[0].GetTagItem("eventsourcing.stream.category"), appends[0].GetTagItem("eventsourcing.event.count"), appends[0].GetTagItem("db.system.name")));

        // The reactor's span continues the trace from the append that wrote its event, and links to it.
        Assert.Equal((ActivityKind.Consumer, appends[0].SpanId), (react.Kind, react.ParentSpanId));
        Assert.Contains(react.Links, link => link.Context.SpanId == appends[0].SpanId);
        Assert.Equal(react.SpanId, seal.ParentSpanId);
        Assert.Equal(seal.SpanId, appends[1].ParentSpanId);

        // The projection's page spans link to the traces of the events they applied.
        var pages = telemetry.Spans.Where(s => s.DisplayName == $"project {CounterProjection.ProjectionName}" && s.Links.Any(l => l.Context.TraceId == trace)).ToList();
        Assert.Contains(pages, page => page.Links.Any(l => l.Context.SpanId == appends[1].SpanId));
        var stored = await host.Store.ReadStreamAsync(Counters.StreamOf(id), 1, Ct).ToListAsync(Ct);
        Assert.Equal([appends[0].Id, appends[1].Id], stored.Select(e => e.Metadata.TraceParent));
    }

    [Fact]
    public async Task Every_conflict_is_counted_once_and_every_command_is_measured_with_its_outcome()
    {
        using var telemetry = new TelemetryCollector();
        await using var host = await ProjectionHost.StartAsync(es =>
        {
            Counters.Register(es);
            es.ConfigureCommands(o => (o.MaxConflictRetries, o.ConflictRetryDelay, o.CachedStreams) = (1_000, TimeSpan.FromMilliseconds(1), 0));
        });
        var commands = host.Services.GetRequiredService<ICommandSender>();
        var id = Guid.NewGuid().ToString("N");
        var sent = 0;
        for (var round = 0; round < 20 && Conflicts(telemetry) == 0; round++)
        {
            using var start = new Barrier(8);
            await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(
                async () =>
                {
                    start.SignalAndWait(Ct);
                    for (var i = 0; i < 10; i++)
                    {
                        await commands.SendAsync(new BumpCounterSlowly(id), Ct);
                    }
                },
                Ct)));
            sent += 80;
        }

        await Assert.ThrowsAsync<DomainException>(() => commands.SendAsync(new UnknownCounterCommand(id), Ct));

        var conflictEvents = telemetry.Spans.Where(s => s.DisplayName == "command BumpCounterSlowly").Sum(s => s.Events.Count(e => e.Name == "conflict"));
        var durations = telemetry.Of("eventsourcing.command.duration", "eventsourcing.command.type", "BumpCounterSlowly").ToList();
        Assert.True(Conflicts(telemetry) > 0, "no conflict happened in 20 rounds of 8 racing senders");
        Assert.Equal(conflictEvents, Conflicts(telemetry));
        Assert.Equal(sent, durations.Count);
        Assert.All(durations, d => Assert.Contains(d.Tags, t => t is { Key: "eventsourcing.command.outcome", Value: "succeeded" }));
        Assert.Equal(sent, (int)telemetry.Of("eventsourcing.events.appended", "eventsourcing.stream.category", "telemetrycounter").Sum(m => m.Value));
        Assert.Equal(sent, (await host.Store.ReadStreamAsync(Counters.StreamOf(id), 1, Ct).CountAsync(Ct)));
        var refused = Assert.Single(telemetry.Of("eventsourcing.command.duration", "eventsourcing.command.type", nameof(UnknownCounterCommand)));
        Assert.Contains(refused.Tags, t => t is { Key: "eventsourcing.command.outcome", Value: "rejected" });
    }

    [Fact]
    public async Task A_projection_s_lag_rises_while_it_is_held_and_falls_back_to_zero_once_it_catches_up()
    {
        using var telemetry = new TelemetryCollector();
        var projection = new CounterProjection();
        await using var host = await ProjectionHost.StartAsync(
            es =>
            {
                Counters.Register(es);
                es.AddProjection(projection);
            },
            configureServices: services => services.Configure<TelemetryOptions>(o => o.LagInterval = TimeSpan.FromMilliseconds(50)));
        var commands = host.Services.GetRequiredService<ICommandSender>();

        projection.Gate.Reset();
        for (var i = 0; i < 3; i++)
        {
            await commands.SendAsync(new BumpCounter(Guid.NewGuid().ToString("N")), Ct);
        }

        await UntilAsync(() => Task.FromResult(Gauge(telemetry, "eventsourcing.follower.lag") >= 2 && Gauge(telemetry, "eventsourcing.follower.lag.time") > 0));
        projection.Gate.Set();
        await UntilAsync(() => Task.FromResult(Gauge(telemetry, "eventsourcing.follower.lag") == 0 && Gauge(telemetry, "eventsourcing.follower.lag.time") == 0));
    }

    [Fact]
    public async Task A_rebuild_s_remaining_events_are_measured_while_it_runs_and_no_longer_once_it_is_done()
    {
        using var telemetry = new TelemetryCollector();
        var projection = new CounterProjection();
        await using var host = await ProjectionHost.StartAsync(
            es =>
            {
                Counters.Register(es);
                es.AddProjection(projection);
            },
            configureServices: services => services.Configure<TelemetryOptions>(o => o.LagInterval = TimeSpan.FromMilliseconds(50)));
        var commands = host.Services.GetRequiredService<ICommandSender>();
        CommandResult last = null!;
        for (var i = 0; i < 3; i++)
        {
            last = await commands.SendAsync(new BumpCounter(Guid.NewGuid().ToString("N")), Ct);
        }

        await host.WaitForAsync(last.Position, CounterProjection.ProjectionName);
        projection.Gate.Reset();
        var rebuild = host.Rebuilder.RebuildAsync(CounterProjection.ProjectionName, progress: null, Ct);

        await UntilAsync(() => Task.FromResult(Remaining(telemetry) >= 3));
        projection.Gate.Set();
        var rebuilt = await rebuild;
        await UntilAsync(() => Task.FromResult(Remaining(telemetry) is null));

        Assert.Equal(last.Position, rebuilt.Position);
        Assert.Equal(3, telemetry.Of("eventsourcing.rebuild.events", "eventsourcing.follower.name", CounterProjection.ProjectionName).Sum(m => m.Value));
        Assert.Single(telemetry.Spans, s => s.DisplayName == $"rebuild {CounterProjection.ProjectionName}");
    }

    [Fact]
    public async Task No_span_measurement_or_log_line_holds_a_personal_value()
    {
        using var telemetry = new TelemetryCollector();
        using var logs = new LogCollector();
        await using var host = await ProjectionHost.StartAsync(
            es =>
            {
                GuestDecider.Register(es.Events);
                es.AddDecider(GuestDecider.Decider);
                es.AddProjection(new GuestCardProjection());
            },
            configureServices: services => services.AddLogging(logging => logging.AddProvider(logs).SetMinimumLevel(LogLevel.Trace)));
        var handler = host.Services.GetRequiredService<DeciderHandler<GuestCommand, GuestEvent, GuestState?>>();
        var guest = Guid.NewGuid();
        var marker = Guid.NewGuid().ToString("N");

        using (telemetry.Test.StartActivity("request"))
        {
            await handler.HandleAsync(GuestDecider.StreamOf(guest), new RegisterGuest(guest, $"Ada {marker}", $"ada.{marker}@example.com", [$"+44 {marker}"]), Ct);
            var last = await handler.HandleAsync(GuestDecider.StreamOf(guest), new VisitGuest(guest, new DateOnly(2030, 1, 1)), Ct);
            await host.WaitForAsync(last.Position, "guest-cards");
            await Assert.ThrowsAsync<DomainException>(() => handler.HandleAsync(GuestDecider.StreamOf(guest), new RegisterGuest(guest, $"Ada {marker}", "x@example.com", []), Ct));
            await host.Services.GetRequiredService<PersonalDataEraser>().ForgetAsync(guest.ToString(), Ct);
        }

        var spans = telemetry.Spans.Where(s => s.Source.Name == EventSourcingDiagnostics.Name).ToList();
        var texts = spans.SelectMany(s => new[] { s.DisplayName, s.OperationName, s.StatusDescription }
                .Concat(s.TagObjects.Select(t => $"{t.Key}={t.Value}"))
                .Concat(s.Events.SelectMany(e => e.Tags.Select(t => $"{e.Name}:{t.Key}={t.Value}")))
                .Concat(s.Links.SelectMany(l => l.Tags?.Select(t => $"{t.Key}={t.Value}") ?? [])))
            .Concat(telemetry.Measurements.SelectMany(m => m.Tags.Select(t => $"{m.Instrument}:{t.Key}={t.Value}")))
            .Concat(logs.Lines)
            .OfType<string>()
            .ToList();

        Assert.Contains(spans, s => s.DisplayName == "append guest");
        Assert.Contains(spans, s => s.DisplayName == "project guest-cards");
        Assert.Contains(spans, s => s.DisplayName == "forget");
        Assert.Contains(telemetry.Measurements, m => m.Instrument == "eventsourcing.key_cache.lookups");
        Assert.DoesNotContain(texts, text => text.Contains(marker, StringComparison.Ordinal));
        Assert.DoesNotContain(spans, s => s.TagObjects.Any(t => t.Value?.ToString()?.Contains(guest.ToString(), StringComparison.Ordinal) == true));
    }

    private static long Conflicts(TelemetryCollector telemetry) =>
        (long)telemetry.Of("eventsourcing.command.conflicts", "eventsourcing.command.type", "BumpCounterSlowly").Sum(m => m.Value);

    /// <summary>What the rebuild gauge reads now for the counters' projection: nothing when no rebuild is under way.</summary>
    private static double? Remaining(TelemetryCollector telemetry)
    {
        var before = telemetry.Measurements.Count;
        telemetry.ReadGauges();
        return telemetry.Measurements.Skip(before)
            .Where(m => m.Instrument == "eventsourcing.rebuild.remaining" && m.Tags.Any(t => t is { Key: "eventsourcing.follower.name", Value: CounterProjection.ProjectionName }))
            .Select(m => (double?)m.Value)
            .LastOrDefault();
    }

    /// <summary>The gauge's latest value for the counters' projection, read now.</summary>
    private static double Gauge(TelemetryCollector telemetry, string instrument)
    {
        telemetry.ReadGauges();
        return telemetry.Of(instrument, "eventsourcing.follower.name", CounterProjection.ProjectionName).LastOrDefault()?.Value ?? -1;
    }

    private static Task UntilAsync(Func<Task<bool>> condition, Func<string>? state = null) =>
        Eventually.UntilAsync(condition, "the condition", Patience, state: state);
}

/// <summary>A command the counter decider refuses.</summary>
public sealed record UnknownCounterCommand(string CounterId) : CounterCommand(CounterId);
