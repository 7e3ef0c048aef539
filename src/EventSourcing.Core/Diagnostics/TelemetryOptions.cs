namespace EventSourcing.Diagnostics;

/// <summary>How the library measures what it cannot measure as it goes (<c>EventSourcing:Telemetry</c> is not bound: set in code).</summary>
public sealed class TelemetryOptions
{
    /// <summary>
    /// How often the status of projections and reactors is read from the store for the gauges <c>eventsourcing.follower.lag</c>,
    /// <c>eventsourcing.follower.lag.time</c> and <c>eventsourcing.rebuild.remaining</c>, while someone listens to them.
    /// Default 5 seconds.
    /// </summary>
    public TimeSpan LagInterval { get; set; } = TimeSpan.FromSeconds(5);
}
