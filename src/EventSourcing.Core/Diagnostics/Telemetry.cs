using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace EventSourcing.Diagnostics;

/// <summary>
/// The library's instruments and the names of its tags. Every tag value is a type name, a stream category, a follower's
/// name, an outcome or a count: never a stream id, a subject id or a personal value.
/// </summary>
internal static class Telemetry
{
    // Tags (attributes), after OpenTelemetry's conventions where one exists (error.type, db.system.name).
    public const string CommandType = "eventsourcing.command.type";
    public const string CommandOutcome = "eventsourcing.command.outcome";
    public const string StreamCategory = "eventsourcing.stream.category";
    public const string EventCount = "eventsourcing.event.count";
    public const string Store = "db.system.name";
    public const string ErrorType = "error.type";
    public const string FollowerName = "eventsourcing.follower.name";
    public const string FollowerKind = "eventsourcing.follower.kind";
    public const string FromPosition = "eventsourcing.position.from";
    public const string ToPosition = "eventsourcing.position.to";
    public const string EventType = "eventsourcing.event.type";
    public const string Position = "eventsourcing.position";
    public const string Retry = "eventsourcing.retry";
    public const string Replayed = "eventsourcing.command.replayed";
    public const string CacheHit = "eventsourcing.key_cache.hit";

    /// <summary>The follower kinds of <see cref="FollowerKind"/>.</summary>
    public const string Projection = "projection";

    /// <inheritdoc cref="Projection"/>
    public const string Reactor = "reactor";

    /// <inheritdoc cref="Projection"/>
    public const string Forwarder = "forwarder";

    /// <summary>Buckets for durations of commands and appends, in seconds: from 0.1 ms to 10 s.</summary>
    private static readonly double[] DurationBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private static readonly Meter Meter = EventSourcingDiagnostics.Meter;

    public static readonly Histogram<double> CommandDuration = Meter.CreateHistogram(
        "eventsourcing.command.duration", "s", "Commands handled through the pipeline, by type and outcome, and how long each took.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });

    public static readonly Counter<long> Conflicts = Meter.CreateCounter<long>(
        "eventsourcing.command.conflicts", "{conflict}", "Concurrency conflicts met while deciding commands (each retried, or the last one let through).");

    public static readonly Counter<long> Replays = Meter.CreateCounter<long>(
        "eventsourcing.command.replays", "{command}", "Idempotent commands answered with their first result instead of running again.");

    public static readonly Counter<long> EventsAppended = Meter.CreateCounter<long>(
        "eventsourcing.events.appended", "{event}", "Events appended to the log, by stream category and store.");

    public static readonly Histogram<double> AppendDuration = Meter.CreateHistogram(
        "eventsourcing.append.duration", "s", "Appends to the log, by stream category and store, and how long each took.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });

    public static readonly Counter<long> DeadLetters = Meter.CreateCounter<long>(
        "eventsourcing.dead_letters", "{event}", "Events a projection or a reactor failed on and set aside.");

    public static readonly Counter<long> RebuiltEvents = Meter.CreateCounter<long>(
        "eventsourcing.rebuild.events", "{event}", "Events applied by rebuilds, by projection.");

    public static readonly Counter<long> KeyLookups = Meter.CreateCounter<long>(
        "eventsourcing.key_cache.lookups", "{lookup}", "Lookups of subjects' data keys in this process's cache, hits and misses.");

    public static readonly Counter<long> ForwardedEvents = Meter.CreateCounter<long>(
        "eventsourcing.forwarded.events", "{event}", "Events the broker acknowledged from the forwarder.");

    public static readonly Counter<long> Forgets = Meter.CreateCounter<long>(
        "eventsourcing.forgets", "{subject}", "Data subjects forgotten (their keys deleted).");

    /// <summary>Starts a span when someone listens to the library's source; <c>null</c> otherwise.</summary>
    public static Activity? Start(string name, ActivityKind kind = ActivityKind.Internal) =>
        EventSourcingDiagnostics.Source.StartActivity(name, kind);

    /// <summary>Marks <paramref name="activity"/> failed with <paramref name="exception"/>'s type (never its message: it may name a value).</summary>
    public static void Fail(Activity? activity, Exception exception)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetStatus(ActivityStatusCode.Error);
        activity.SetTag(ErrorType, exception.GetType().FullName);
    }

    /// <summary>The category of a stream: its id up to the first <c>-</c> (<c>reservation-…</c> is <c>reservation</c>), so no id reaches a tag.</summary>
    public static string CategoryOf(string streamId)
    {
        var dash = streamId.IndexOf('-', StringComparison.Ordinal);
        return dash > 0 ? streamId[..dash] : streamId.Length <= 32 && !streamId.Any(char.IsDigit) ? streamId : "other";
    }
}

/// <summary>
/// What a command's pipeline learnt on the way that its exception or result does not say (an idempotent replay), for the
/// span and the measurement of the command around it. Set on the flow only while someone listens.
/// </summary>
internal sealed class CommandOutcome
{
    private static readonly AsyncLocal<CommandOutcome?> Current = new();

    /// <summary>Whether the command was answered with its first result.</summary>
    public bool Replayed { get; private set; }

    /// <summary>Starts collecting for the command that runs next on this flow.</summary>
    public static CommandOutcome Begin() => Current.Value = new CommandOutcome();

    /// <summary>Says that the command on this flow was answered with its first result.</summary>
    public static void MarkReplayed()
    {
        Telemetry.Replays.Add(1);
        if (Current.Value is { } outcome)
        {
            outcome.Replayed = true;
        }

        Activity.Current?.AddEvent(new ActivityEvent("idempotent replay"));
    }
}
