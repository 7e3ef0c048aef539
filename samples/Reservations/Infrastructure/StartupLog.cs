using Microsoft.Extensions.Options;
using Reservations.Security;

namespace Reservations;

/// <summary>
/// What the API says once it has started: which store, whether the log is forwarded, where the API reference is, whether admin endpoints are open,
/// which origins may call it from a browser, and how writes are limited.
/// </summary>
public static partial class StartupLog
{
    public static void Report(ILogger logger, IConfiguration configuration, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        LogStore(logger, string.IsNullOrWhiteSpace(configuration.GetConnectionString("Postgres")) ? "in-memory" : "PostgreSQL");
        if (!string.IsNullOrWhiteSpace(configuration["Nats:Url"]))
        {
            LogForwarding(logger, configuration["Nats:StreamName"] is { Length: > 0 } stream ? stream : new EventSourcing.Nats.NatsTransportOptions().StreamName);
        }

        if (string.IsNullOrEmpty(configuration["Admin:ApiKey"]))
        {
            LogAdminDisabled(logger);
        }

        var origins = services.GetRequiredService<IOptions<CrossOriginOptions>>().Value.AllowedOrigins;
        LogCrossOrigin(logger, origins.Count == 0 ? "none (Cors:AllowedOrigins is empty)" : string.Join(", ", origins));
        var writes = services.GetRequiredService<IOptions<WriteRateLimitOptions>>().Value;
        if (writes.Enabled)
        {
            LogWriteLimit(logger, writes.TokenLimit, writes.TokensPerPeriod, writes.ReplenishmentPeriod);
        }
        else
        {
            LogWriteLimitOff(logger);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Reservations API on the {Store} store; API reference at /scalar/v1, OpenAPI document at /openapi/v1.json")]
    private static partial void LogStore(ILogger logger, string store);

    [LoggerMessage(Level = LogLevel.Information, Message = "The log is forwarded to the NATS JetStream stream {Stream} (Nats:Url)")]
    private static partial void LogForwarding(ILogger logger, string stream);

    [LoggerMessage(Level = LogLevel.Warning, Message = "No admin API key is configured (Admin:ApiKey): the admin endpoints are disabled and answer 403")]
    private static partial void LogAdminDisabled(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Cross-origin requests allowed from: {Origins}")]
    private static partial void LogCrossOrigin(ILogger logger, string origins);

    [LoggerMessage(Level = LogLevel.Information, Message = "Writes limited per client to {TokenLimit} at once, then {TokensPerPeriod} every {ReplenishmentPeriod} (RateLimiting:Writes)")]
    private static partial void LogWriteLimit(ILogger logger, int tokenLimit, int tokensPerPeriod, TimeSpan replenishmentPeriod);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Writes are not rate limited (RateLimiting:Writes:Enabled is false)")]
    private static partial void LogWriteLimitOff(ILogger logger);
}
