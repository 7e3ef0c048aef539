using EventSourcing.OpenTelemetry;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Reservations.Administration;

namespace Reservations;

/// <summary>
/// Traces and metrics through OpenTelemetry: the library's and Npgsql's (<c>AddEventSourcingInstrumentation</c>) and
/// ASP.NET Core's. Metrics are scraped at <c>/metrics</c> (Prometheus, behind the admin API key); everything goes to an
/// OTLP collector as well when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (configuration or environment variable).
/// </summary>
public static class Telemetry
{
    /// <summary>The path Prometheus scrapes.</summary>
    public const string MetricsPath = "/metrics";

    /// <summary>The setting that turns on the OTLP exporter; the exporter reads it, and the other <c>OTEL_*</c> settings, itself.</summary>
    public const string OtlpEndpoint = "OTEL_EXPORTER_OTLP_ENDPOINT";

    public static IServiceCollection AddReservationsTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("reservations"))
            .WithTracing(tracing => tracing
                .AddEventSourcingInstrumentation()
                .AddAspNetCoreInstrumentation(aspNetCore => aspNetCore.Filter = context => !IsProbe(context.Request.Path)))
            .WithMetrics(metrics => metrics
                .AddEventSourcingInstrumentation()
                .AddAspNetCoreInstrumentation()
                .AddPrometheusExporter());
        if (!string.IsNullOrWhiteSpace(configuration[OtlpEndpoint]))
        {
            telemetry.UseOtlpExporter(); // traces, metrics and logs
        }

        return services;
    }

    /// <summary>Maps <c>/metrics</c> (GET), which only the admin API key opens, as the admin endpoints.</summary>
    public static IEndpointRouteBuilder MapMetrics(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPrometheusScrapingEndpoint(MetricsPath, meterProvider: null, branch => branch.Use(AdminApiKeyFilter.GuardAsync), optionsName: null)
            .WithMetadata(AdminApiKeyRequired.Instance, new HttpMethodMetadata([HttpMethods.Get]));
        return endpoints;
    }

    /// <summary>Requests of probes and scrapers, which are not traced: <c>/health</c> and below, and <c>/metrics</c>.</summary>
    private static bool IsProbe(PathString path) => path.StartsWithSegments("/health") || path.StartsWithSegments(MetricsPath);
}
