using System.Diagnostics;
using EventSourcing.Diagnostics;
using EventSourcing.Events;

namespace EventSourcing.Storage;

/// <summary>Spans and measurements of the followers of the log (projections, reactors): the trace goes on from the events they read.</summary>
internal static class FollowerTelemetry
{
    /// <summary>The most events whose traces one span links to (a page of a projection holds up to thousands).</summary>
    public const int MaxLinks = 32;

    /// <summary>
    /// Starts the span <c>{verb} {follower}</c> of a follower handling one event, a child of the span that appended it (its <c>traceparent</c>),
    /// and linked to it: one request is one trace through the reactions it caused. <c>null</c> with no listener.
    /// </summary>
    public static Activity? StartHandling(string verb, string kind, string follower, EventEnvelope envelope)
    {
        if (!EventSourcingDiagnostics.Source.HasListeners())
        {
            return null;
        }

        var links = ContextOf(envelope) is { } context ? new[] { new ActivityLink(context) } : null;
        var activity = EventSourcingDiagnostics.Source.StartActivity($"{verb} {follower}", ActivityKind.Consumer, links?[0].Context ?? default, links: links);
        if (activity is not null)
        {
            activity.SetTag(Telemetry.FollowerName, follower);
            activity.SetTag(Telemetry.FollowerKind, kind);
            activity.SetTag(Telemetry.EventType, envelope.EventType);
            activity.SetTag(Telemetry.Position, envelope.Position);
        }

        return activity;
    }

    /// <summary>
    /// Starts the span <c>{verb} {follower}</c> of a follower applying a page of events (<paramref name="events"/>, in log order), linked to the
    /// spans that appended them (the first <see cref="MaxLinks"/> distinct ones, in log order). <c>null</c> with no listener.
    /// </summary>
    public static Activity? StartPage(string verb, string kind, string follower, IReadOnlyList<EventEnvelope> events)
    {
        if (!EventSourcingDiagnostics.Source.HasListeners() || events.Count == 0)
        {
            return null;
        }

        var links = new List<ActivityLink>();
        var seen = new HashSet<ActivitySpanId>();
        foreach (var envelope in events)
        {
            if (ContextOf(envelope) is { } context && seen.Add(context.SpanId))
            {
                links.Add(new ActivityLink(context));
                if (links.Count == MaxLinks)
                {
                    break;
                }
            }
        }

        var activity = EventSourcingDiagnostics.Source.StartActivity($"{verb} {follower}", ActivityKind.Consumer, parentContext: default, links: links);
        if (activity is not null)
        {
            activity.SetTag(Telemetry.FollowerName, follower);
            activity.SetTag(Telemetry.FollowerKind, kind);
            activity.SetTag(Telemetry.FromPosition, events[0].Position);
            activity.SetTag(Telemetry.ToPosition, events[^1].Position);
            activity.SetTag(Telemetry.EventCount, events.Count);
        }

        return activity;
    }

    /// <summary>An event a follower failed on and set aside: counted.</summary>
    public static void DeadLettered(string kind, string follower)
    {
        if (Telemetry.DeadLetters.Enabled)
        {
            Telemetry.DeadLetters.Add(1, new KeyValuePair<string, object?>(Telemetry.FollowerKind, kind), new KeyValuePair<string, object?>(Telemetry.FollowerName, follower));
        }
    }

    private static ActivityContext? ContextOf(EventEnvelope envelope) =>
        envelope.Metadata.TraceParent is { } traceParent && ActivityContext.TryParse(traceParent, traceState: null, isRemote: true, out var context)
            ? context
            : null;
}
