using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Reflection;

namespace EventSourcing.Diagnostics;

/// <summary>
/// The names the library emits traces and metrics under, through <see cref="System.Diagnostics"/> alone: an
/// <see cref="ActivitySource"/> and a <see cref="System.Diagnostics.Metrics.Meter"/>, both named <see cref="Name"/>. Any
/// listener subscribes by that name (the OpenTelemetry SDK's <c>AddSource</c> and <c>AddMeter</c>, <c>dotnet-counters</c>,
/// <c>dotnet-trace</c>); with none, a span is not created and a measurement costs a check. No tag, attribute or event
/// of either holds a personal value. docs/observability.md lists every span and instrument.
/// </summary>
public static class EventSourcingDiagnostics
{
    /// <summary>The name of the library's <see cref="ActivitySource"/> and <see cref="System.Diagnostics.Metrics.Meter"/>: <c>EventSourcing</c>.</summary>
    public const string Name = "EventSourcing";

    /// <summary>The version the source and the meter report: the library's informational version.</summary>
    public static readonly string Version =
        typeof(EventSourcingDiagnostics).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(EventSourcingDiagnostics).Assembly.GetName().Version?.ToString()
        ?? "0.0.0";

    /// <summary>The library's spans.</summary>
    internal static readonly ActivitySource Source = new(Name, Version);

    /// <summary>The library's instruments.</summary>
    internal static readonly Meter Meter = new(Name, Version);
}
