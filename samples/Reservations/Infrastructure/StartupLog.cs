namespace Reservations;

/// <summary>What the API says when it starts: which store, where the API reference is, whether admin endpoints are open.</summary>
public static partial class StartupLog
{
    public static void Report(ILogger logger, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        LogStore(logger, string.IsNullOrWhiteSpace(configuration.GetConnectionString("Postgres")) ? "in-memory" : "PostgreSQL");
        if (string.IsNullOrEmpty(configuration["Admin:ApiKey"]))
        {
            LogAdminDisabled(logger);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Reservations API on the {Store} store; API reference at /scalar/v1, OpenAPI document at /openapi/v1.json")]
    private static partial void LogStore(ILogger logger, string store);

    [LoggerMessage(Level = LogLevel.Warning, Message = "No admin API key is configured (Admin:ApiKey): the admin endpoints are disabled and answer 403")]
    private static partial void LogAdminDisabled(ILogger logger);
}
