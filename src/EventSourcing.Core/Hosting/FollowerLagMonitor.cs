using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using EventSourcing.Diagnostics;
using EventSourcing.Projections;
using EventSourcing.Reactors;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace EventSourcing.Hosting;

/// <summary>
/// The gauges of the followers' lag: <c>eventsourcing.follower.lag</c> (events between a projection's or a reactor's
/// checkpoint and the head of the log) and <c>eventsourcing.follower.lag.time</c> (seconds since this process last read
/// the follower at the head; 0 while it is there), and <c>eventsourcing.rebuild.remaining</c> (events a projection's
/// rebuild has still to apply). Read from the store every <see cref="TelemetryOptions.LagInterval"/>,
/// only while someone listens; a gauge reports the last reading. Inline and live projections are never behind and are
/// not reported; a reactor is reported by every process, whichever runs it.
/// </summary>
internal sealed partial class FollowerLagMonitor : BackgroundService
{
    private static readonly ConcurrentDictionary<FollowerLagMonitor, byte> Running = new();

    private static readonly ObservableGauge<long> Lag = EventSourcingDiagnostics.Meter.CreateObservableGauge(
        "eventsourcing.follower.lag", () => Running.Keys.SelectMany(monitor => monitor.Measure(seconds: false)).Select(m => new Measurement<long>((long)m.Value, m.Tags)),
        "{event}", "Events between a projection's or a reactor's checkpoint and the head of the log.");

    private static readonly ObservableGauge<double> LagTime = EventSourcingDiagnostics.Meter.CreateObservableGauge(
        "eventsourcing.follower.lag.time", () => Running.Keys.SelectMany(monitor => monitor.Measure(seconds: true)),
        "s", "Seconds since the follower was last read at the head of the log (0 while it is there).");

    private static readonly ObservableGauge<long> RebuildRemaining = EventSourcingDiagnostics.Meter.CreateObservableGauge(
        "eventsourcing.rebuild.remaining", () => Running.Keys.SelectMany(monitor => monitor.MeasureRebuilds()),
        "{event}", "Events a projection's rebuild has still to apply before it reaches the head of the log (while one is under way or interrupted).");

    private readonly ProjectionStatusReader _projections;
    private readonly ReactorStatusReader _reactors;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _interval;
    private readonly ILogger _logger;
    private readonly Dictionary<string, long> _behindSince = new(StringComparer.Ordinal);
    private volatile IReadOnlyList<Reading> _readings = [];

    public FollowerLagMonitor(ProjectionStatusReader projections, ReactorStatusReader reactors, TimeProvider timeProvider, IOptions<TelemetryOptions> options, ILogger<FollowerLagMonitor>? logger = null)
    {
        _projections = projections;
        _reactors = reactors;
        _timeProvider = timeProvider;
        _interval = options.Value.LagInterval;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(_interval, TimeSpan.Zero, "TelemetryOptions.LagInterval");
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>One follower as last read.</summary>
    private sealed record Reading(string Name, string Kind, long Lag, double Seconds)
    {
        /// <summary>Events a rebuild has still to apply, while one is under way.</summary>
        public long? Rebuilding { get; init; }
    }

    /// <summary>Reads every follower's lag now (what the loop does each interval).</summary>
    internal async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var now = _timeProvider.GetTimestamp();
        var readings = new List<Reading>();
        foreach (var status in await _projections.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (status.Lifecycle == "async")
            {
                readings.Add(Read(status.Name, Telemetry.Projection, status.Lag, now) with
                {
                    Rebuilding = status.RebuildPosition is { } rebuilt ? Math.Max(0, status.Head - rebuilt) : null,
                });
            }
        }

        foreach (var status in await _reactors.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            readings.Add(Read(status.Name, Telemetry.Reactor, status.Lag, now));
        }

        _readings = readings;
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Running.TryAdd(this, 0);
        try
        {
            using var timer = new PeriodicTimer(_interval, _timeProvider);
            var failures = 0;
            do
            {
                if (!Lag.Enabled && !LagTime.Enabled && !RebuildRemaining.Enabled)
                {
                    continue; // nobody listens: no reads
                }

                try
                {
                    await RefreshAsync(stoppingToken).ConfigureAwait(false);
                    failures = 0;
                }
                catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
                {
                    if (failures++ == 0)
                    {
                        LogReadFailed(_logger, exception); // once until a reading succeeds: the store's own health says the rest
                    }
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // stopping
        }
        finally
        {
            Running.TryRemove(this, out _);
        }
    }

    private Reading Read(string name, string kind, long lag, long now)
    {
        var key = $"{kind}/{name}";
        if (lag <= 0)
        {
            _behindSince.Remove(key);
            return new Reading(name, kind, 0, 0);
        }

        if (!_behindSince.TryGetValue(key, out var since))
        {
            _behindSince[key] = since = now;
        }

        return new Reading(name, kind, lag, _timeProvider.GetElapsedTime(since, now).TotalSeconds);
    }

    private IEnumerable<Measurement<double>> Measure(bool seconds) =>
        _readings.Select(reading => new Measurement<double>(
            seconds ? reading.Seconds : reading.Lag,
            new KeyValuePair<string, object?>(Telemetry.FollowerName, reading.Name),
            new KeyValuePair<string, object?>(Telemetry.FollowerKind, reading.Kind)));

    private IEnumerable<Measurement<long>> MeasureRebuilds() =>
        _readings.Where(reading => reading.Rebuilding is not null).Select(reading => new Measurement<long>(
            reading.Rebuilding!.Value,
            new KeyValuePair<string, object?>(Telemetry.FollowerName, reading.Name)));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading the lag of projections and reactors for their gauges failed; trying again each interval")]
    private static partial void LogReadFailed(ILogger logger, Exception exception);
}
