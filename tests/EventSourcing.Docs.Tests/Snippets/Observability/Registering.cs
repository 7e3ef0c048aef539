using EventSourcing.Hosting;
using EventSourcing.OpenTelemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace EventSourcing.Docs.Tests.Snippets.Observability;

// docs/observability.md, "Registering" and "Health checks".
internal static class Registering
{
    public static void RegisterTelemetry(IServiceCollection services)
    {
        services.AddOpenTelemetry()
            .WithTracing(tracing => tracing.AddEventSourcingInstrumentation())   // spans: EventSourcing and Npgsql
            .WithMetrics(metrics => metrics.AddEventSourcingInstrumentation()); // instruments: EventSourcing and Npgsql
    }

    public static void RegisterTelemetryInMemory(IServiceCollection services)
    {
        services.AddOpenTelemetry()
            .WithTracing(tracing => tracing.AddEventSourcingInstrumentation(includeNpgsql: false))
            .WithMetrics(metrics => metrics.AddEventSourcingInstrumentation(includeNpgsql: false));
    }

    public static void RegisterHealthChecks(IServiceCollection services)
    {
        services.AddHealthChecks().AddEventSourcing(health =>
        {
            health.MaxLag = 50_000;                    // events an async projection or a reactor may be behind
            health.LagStatus = HealthStatus.Unhealthy; // past it: unhealthy instead of degraded
            health.Timeout = TimeSpan.FromSeconds(2);  // how long the store may take to answer
        });
    }
}
