using EventSourcing.Diagnostics;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace EventSourcing.OpenTelemetry;

/// <summary>
/// Registers the library's spans and metrics (<see cref="EventSourcingDiagnostics.Name"/>) with the OpenTelemetry SDK,
/// and by default Npgsql's, which the PostgreSQL store runs on: one call on each provider builder.
/// </summary>
/// <remarks>
/// Npgsql's source and meter are both named <c>Npgsql</c>; subscribing to them is all that Npgsql.OpenTelemetry's
/// <c>AddNpgsql()</c> does, so this package needs neither that package nor Npgsql itself. With the in-memory store,
/// nothing is emitted under that name.
/// </remarks>
public static class EventSourcingInstrumentation
{
    /// <summary>The name of Npgsql's <see cref="System.Diagnostics.ActivitySource"/> and <see cref="System.Diagnostics.Metrics.Meter"/>.</summary>
    internal const string Npgsql = "Npgsql";

    /// <summary>
    /// Adds the library's spans (the source <see cref="EventSourcingDiagnostics.Name"/>) and, unless
    /// <paramref name="includeNpgsql"/> is false, Npgsql's (one span per database command).
    /// </summary>
    /// <param name="builder">The tracer provider builder, as <c>services.AddOpenTelemetry().WithTracing(...)</c> gives it.</param>
    /// <param name="includeNpgsql">Whether to add Npgsql's source as well. Default true.</param>
    /// <returns>The same builder, for chaining.</returns>
    public static TracerProviderBuilder AddEventSourcingInstrumentation(this TracerProviderBuilder builder, bool includeNpgsql = true)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddSource(EventSourcingDiagnostics.Name);
        return includeNpgsql ? builder.AddSource(Npgsql) : builder;
    }

    /// <summary>
    /// Adds the library's instruments (the meter <see cref="EventSourcingDiagnostics.Name"/>) and, unless
    /// <paramref name="includeNpgsql"/> is false, Npgsql's (<c>db.client.commands.*</c> and <c>db.client.connections.*</c>).
    /// </summary>
    /// <param name="builder">The meter provider builder, as <c>services.AddOpenTelemetry().WithMetrics(...)</c> gives it.</param>
    /// <param name="includeNpgsql">Whether to add Npgsql's meter as well. Default true.</param>
    /// <returns>The same builder, for chaining.</returns>
    public static MeterProviderBuilder AddEventSourcingInstrumentation(this MeterProviderBuilder builder, bool includeNpgsql = true)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddMeter(EventSourcingDiagnostics.Name);
        return includeNpgsql ? builder.AddMeter(Npgsql) : builder;
    }
}
