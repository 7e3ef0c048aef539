using System.Diagnostics;
using EventSourcing.Diagnostics;
using EventSourcing.Events;

namespace EventSourcing.Storage;

/// <summary>
/// The span and the measurements of an append, shared by the stores: span <c>append {category}</c>
/// (<see cref="ActivityKind.Producer"/>: its events are read later by projections and reactors), whose
/// <c>traceparent</c> goes into the events' metadata; <c>eventsourcing.append.duration</c> and
/// <c>eventsourcing.events.appended</c>. Call <see cref="Start"/> inside the store's asynchronous append method (the span
/// is current for what the method does), then <see cref="Succeeded"/> or <see cref="Failed"/>.
/// </summary>
public readonly struct AppendTelemetry
{
    private readonly Activity? _activity;
    private readonly long _started;
    private readonly string? _category;
    private readonly string _store;
    private readonly int _count;

    private AppendTelemetry(Activity? activity, long started, string? category, string store, int count)
    {
        (_activity, _started, _category, _store, _count) = (activity, started, category, store, count);
    }

    /// <summary>
    /// Whether an append is to be observed: someone listens to the library's spans or append instruments, or a span is
    /// current (whose <c>traceparent</c> the events then carry). A store may skip <see cref="Start"/> otherwise.
    /// </summary>
    public static bool IsObserved =>
        Activity.Current is not null || EventSourcingDiagnostics.Source.HasListeners() || Telemetry.AppendDuration.Enabled || Telemetry.EventsAppended.Enabled;

    /// <summary>
    /// Starts observing an append of <paramref name="count"/> events to <paramref name="streamId"/> in the store named
    /// <paramref name="store"/> (<c>db.system.name</c>: <c>memory</c>, <c>postgresql</c>), and returns
    /// <paramref name="metadata"/> with the <c>traceparent</c> the events are to carry: the one given, else the append's
    /// span's, else the current span's; the metadata itself when there is none.
    /// </summary>
    public static AppendTelemetry Start(string streamId, int count, string store, ref EventMetadata metadata)
    {
        ArgumentNullException.ThrowIfNull(streamId);
        ArgumentNullException.ThrowIfNull(metadata);
        var measured = Telemetry.AppendDuration.Enabled || Telemetry.EventsAppended.Enabled;
        var activity = EventSourcingDiagnostics.Source.HasListeners() ? Telemetry.Start("append", ActivityKind.Producer) : null;
        var category = measured || activity is not null ? Telemetry.CategoryOf(streamId) : null;
        if (activity is not null)
        {
            activity.DisplayName = $"append {category}";
            activity.SetTag(Telemetry.StreamCategory, category);
            activity.SetTag(Telemetry.EventCount, count);
            activity.SetTag(Telemetry.Store, store);
        }

        if (metadata.TraceParent is null && (activity ?? Activity.Current) is { IdFormat: ActivityIdFormat.W3C } span)
        {
            metadata = metadata with { TraceParent = span.Id };
        }

        return new AppendTelemetry(activity, measured ? Stopwatch.GetTimestamp() : 0, category, store, count);
    }

    /// <summary>Ends the observation: the append stored its events at <paramref name="result"/>.</summary>
    public void Succeeded(AppendResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        _activity?.SetTag(Telemetry.Position, result.Position);
        if (result.AlreadyApplied)
        {
            _activity?.SetTag(Telemetry.Replayed, true);
        }

        End(error: null, appended: result.AlreadyApplied ? 0 : _count);
    }

    /// <summary>Ends the observation: the append failed with <paramref name="exception"/> (a conflict is an answer, not a fault).</summary>
    public void Failed(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        if (exception is ConcurrencyException)
        {
            _activity?.SetTag(Telemetry.ErrorType, exception.GetType().FullName);
        }
        else
        {
            Telemetry.Fail(_activity, exception);
        }

        End(exception.GetType().FullName, appended: 0);
    }

    private void End(string? error, int appended)
    {
        if (_started != 0)
        {
            var tags = new TagList
            {
                { Telemetry.StreamCategory, _category },
                { Telemetry.Store, _store },
            };
            if (appended > 0)
            {
                Telemetry.EventsAppended.Add(appended, tags);
            }

            if (error is not null)
            {
                tags.Add(Telemetry.ErrorType, error);
            }

            Telemetry.AppendDuration.Record(Stopwatch.GetElapsedTime(_started).TotalSeconds, tags);
        }

        _activity?.Dispose();
    }
}
