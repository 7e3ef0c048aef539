using System.Text.Json;
using EventSourcing.Hosting;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Reservations;

/// <summary>
/// <c>/health/live</c> (the process answers) and <c>/health/ready</c> (the store answers, every projection and reactor
/// runs), from the library's health checks (<c>EventSourcing:Health</c> sets the lag bound and the timeout). Each answers a
/// JSON body with the overall status and each check's status, description and data: 200 when healthy or degraded, 503
/// when unhealthy. Not in the OpenAPI document: probes, not API.
/// </summary>
public static class HealthEndpoints
{
    public static IServiceCollection AddReservationsHealthChecks(this IServiceCollection services)
    {
        services.AddHealthChecks().AddEventSourcing();
        return services;
    }

    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapHealthChecks("/health/live", Tagged(EventSourcingHealthChecks.LiveTag));
        endpoints.MapHealthChecks("/health/ready", Tagged(EventSourcingHealthChecks.ReadyTag));
        return endpoints;
    }

    private static HealthCheckOptions Tagged(string tag) => new()
    {
        Predicate = registration => registration.Tags.Contains(tag),
        ResponseWriter = WriteAsync,
    };

    private static Task WriteAsync(HttpContext context, HealthReport report)
    {
        var json = context.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        var body = new HealthReportBody(
            Name(report.Status),
            report.Entries.ToDictionary(entry => entry.Key, entry => new HealthCheckBody(Name(entry.Value.Status), entry.Value.Description, entry.Value.Data)));
        context.Response.ContentType = "application/json; charset=utf-8";
        return JsonSerializer.SerializeAsync(context.Response.Body, body, json, context.RequestAborted);
    }

    private static string Name(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus status) => status.ToString().ToLowerInvariant();
}

/// <summary>The answer of <c>/health/live</c> and <c>/health/ready</c>: <c>healthy</c>, <c>degraded</c> or <c>unhealthy</c>, and each check's.</summary>
public sealed record HealthReportBody(string Status, IReadOnlyDictionary<string, HealthCheckBody> Checks);

/// <summary>One check: its status, what it found, and its data (the store's head; each follower's status).</summary>
public sealed record HealthCheckBody(string Status, string? Description, IReadOnlyDictionary<string, object> Data);
