using System.Diagnostics;
using System.Diagnostics.Metrics;
using EventSourcing.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace EventSourcing.OpenTelemetry.Tests;

/// <summary>What <see cref="EventSourcingInstrumentation"/> subscribes the SDK to: the library's source and meter, and Npgsql's.</summary>
public sealed class EventSourcingInstrumentationTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Tracing_records_the_librarys_spans_and_Npgsqls_unless_told_not_to(bool includeNpgsql)
    {
        var spans = new List<Activity>();
        using (var tracer = Sdk.CreateTracerProviderBuilder().AddEventSourcingInstrumentation(includeNpgsql).AddInMemoryExporter(spans).Build())
        {
            using var library = new ActivitySource(EventSourcingDiagnostics.Name);
            using var npgsql = new ActivitySource("Npgsql");
            using var other = new ActivitySource("Elsewhere");
            library.StartActivity("es.append")?.Dispose();
            npgsql.StartActivity("postgres")?.Dispose();
            other.StartActivity("elsewhere")?.Dispose();
        }

        Assert.Equal(includeNpgsql ? ["es.append", "postgres"] : ["es.append"], spans.Select(span => span.OperationName));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Metrics_record_the_librarys_instruments_and_Npgsqls_unless_told_not_to(bool includeNpgsql)
    {
        var metrics = new List<Metric>();
        using var library = new Meter(EventSourcingDiagnostics.Name);
        using var npgsql = new Meter("Npgsql");
        using var other = new Meter("Elsewhere");
        using (var meters = Sdk.CreateMeterProviderBuilder().AddEventSourcingInstrumentation(includeNpgsql).AddInMemoryExporter(metrics).Build())
        {
            library.CreateCounter<long>("eventsourcing.test").Add(1);
            npgsql.CreateCounter<long>("db.client.test").Add(1);
            other.CreateCounter<long>("elsewhere.test").Add(1);
            meters.ForceFlush();
        }

        Assert.Equal(
            includeNpgsql ? ["db.client.test", "eventsourcing.test"] : ["eventsourcing.test"],
            metrics.Select(metric => metric.Name).Distinct().Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_missing_builder_is_refused()
    {
        Assert.Throws<ArgumentNullException>(() => ((TracerProviderBuilder)null!).AddEventSourcingInstrumentation());
        Assert.Throws<ArgumentNullException>(() => ((MeterProviderBuilder)null!).AddEventSourcingInstrumentation());
    }
}
