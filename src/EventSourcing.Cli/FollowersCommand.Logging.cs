using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EventSourcing.Cli;

public static partial class FollowersCommand
{
    /// <summary>
    /// Sets up logging for a process started to run these verbs: every log line goes to standard error, so that standard
    /// output holds the verb's output alone (the JSON of <c>--json</c>, for scripts and <c>jq</c>), and only warnings and
    /// errors are logged (the verbs print their own progress). It configures the console logger (the default one, in
    /// any of its formats) through the application's configuration; settings made after this call win. Call it before the
    /// application is built, when <see cref="Handles"/> says the arguments select the verbs:
    /// <code>
    /// var followersCommand = FollowersCommand.Handles(args);
    /// var builder = WebApplication.CreateBuilder(followersCommand ? [] : args);
    /// if (followersCommand)
    /// {
    ///     builder.UseFollowersCommandLogging();
    /// }
    /// </code>
    /// </summary>
    public static TBuilder UseFollowersCommandLogging<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Configuration["Logging:Console:LogToStandardErrorThreshold"] = nameof(LogLevel.Trace); // every level to standard error
        builder.Configuration["Logging:LogLevel:Default"] = nameof(LogLevel.Warning);
        return builder;
    }
}
