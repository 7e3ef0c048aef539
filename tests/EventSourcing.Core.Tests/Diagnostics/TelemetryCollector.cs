using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using EventSourcing.Diagnostics;

namespace EventSourcing.Core.Tests.Diagnostics;

/// <summary>Every span of the library (and of <see cref="Test"/>) ended, and every measurement of its meter, while it lives.</summary>
public sealed class TelemetryCollector : IDisposable
{
    private readonly ActivityListener _spans;
    private readonly MeterListener _meters = new();

    public TelemetryCollector()
    {
        Test = new ActivitySource($"telemetry-test-{Guid.NewGuid():N}");
        _spans = new ActivityListener
        {
            ShouldListenTo = source => source.Name == EventSourcingDiagnostics.Name || source.Name == Test.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = Spans.Enqueue,
        };
        ActivitySource.AddActivityListener(_spans);
        _meters.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == EventSourcingDiagnostics.Name)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _meters.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Measurements.Enqueue(new Measured(instrument.Name, value, tags.ToArray())));
        _meters.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Measurements.Enqueue(new Measured(instrument.Name, value, tags.ToArray())));
        _meters.Start();
    }

    /// <summary>A source of the test's own spans (a request, say).</summary>
    public ActivitySource Test { get; }

    public ConcurrentQueue<Activity> Spans { get; } = new();

    public ConcurrentQueue<Measured> Measurements { get; } = new();

    /// <summary>Asks the observable gauges for their values now.</summary>
    public void ReadGauges() => _meters.RecordObservableInstruments();

    public IEnumerable<Activity> InTrace(ActivityTraceId trace) => Spans.Where(span => span.TraceId == trace);

    public IEnumerable<Measured> Of(string instrument, string tag, object value) =>
        Measurements.Where(m => m.Instrument == instrument && m.Tags.Any(t => t.Key == tag && Equals(t.Value, value)));

    public void Dispose()
    {
        _meters.Dispose();
        _spans.Dispose();
        Test.Dispose();
    }

    public sealed record Measured(string Instrument, double Value, KeyValuePair<string, object?>[] Tags);
}
