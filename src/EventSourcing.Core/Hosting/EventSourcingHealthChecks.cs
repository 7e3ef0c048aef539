using EventSourcing.Projections;
using EventSourcing.Reactors;
using EventSourcing.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace EventSourcing.Hosting;

/// <summary>
/// EventSourcing's health checks, for ASP.NET Core's health checks or any <see cref="HealthCheckService"/>: the process
/// (tagged <see cref="LiveTag"/>), and the store and the followers (tagged <see cref="ReadyTag"/>).
/// </summary>
public static class EventSourcingHealthChecks
{
    /// <summary>The tag of the liveness check: the process answers.</summary>
    public const string LiveTag = "live";

    /// <summary>The tag of the readiness checks: the store answers, and every projection and reactor runs.</summary>
    public const string ReadyTag = "ready";

    /// <summary>The name of the liveness check, always healthy: that it runs at all says the process answers.</summary>
    public const string Process = "eventsourcing-process";

    /// <summary>
    /// The name of the store's check: <see cref="IEventReader.ReadHeadPositionAsync"/> answers within
    /// <see cref="EventSourcingHealthOptions.Timeout"/>; its data holds the head (<c>head</c>).
    /// </summary>
    public const string Store = "eventsourcing-store";

    /// <summary>
    /// The name of the followers' check: no projection or reactor is stopped, none lags by more than
    /// <see cref="EventSourcingHealthOptions.MaxLag"/>; its data holds each one's <see cref="ProjectionStatus"/> by name.
    /// </summary>
    public const string Followers = "eventsourcing-followers";

    /// <summary>
    /// Adds the checks <see cref="Process"/> (tagged <see cref="LiveTag"/>), <see cref="Store"/> and <see cref="Followers"/>
    /// (tagged <see cref="ReadyTag"/>). Their options are bound to the configuration section <c>EventSourcing:Health</c>,
    /// when the application has a configuration, then set by <paramref name="configure"/>, and checked when the host starts.
    /// Call <see cref="ServiceCollectionExtensions.AddEventSourcing"/> as well.
    /// </summary>
    /// <param name="builder">The builder <c>services.AddHealthChecks()</c> returns.</param>
    /// <param name="configure">Sets the options in code, after the configuration.</param>
    /// <returns>The same builder, for chaining.</returns>
    public static IHealthChecksBuilder AddEventSourcing(this IHealthChecksBuilder builder, Action<EventSourcingHealthOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddOptions();
        services.AddSingleton<IConfigureOptions<EventSourcingHealthOptions>>(provider => new ConfigureNamedOptions<EventSourcingHealthOptions>(
            Options.DefaultName,
            options => provider.GetService<IConfiguration>()?.GetSection(EventSourcingHealthOptions.Section).Bind(options)));
        var options = services.AddOptions<EventSourcingHealthOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart(); // a wrong setting fails when the host starts, naming it
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EventSourcingHealthOptions>, EventSourcingHealthOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);

        return builder
            .AddCheck(Process, () => HealthCheckResult.Healthy("The process answers."), [LiveTag])
            .Add(new HealthCheckRegistration(
                Store,
                provider => new StoreHealthCheck(provider.GetRequiredService<IEventReader>(), OptionsOf(provider), provider.GetRequiredService<TimeProvider>()),
                HealthStatus.Unhealthy,
                [ReadyTag]))
            .Add(new HealthCheckRegistration(
                Followers,
                provider => new FollowersHealthCheck(
                    provider.GetRequiredService<ProjectionStatusReader>(), provider.GetRequiredService<ReactorStatusReader>(), OptionsOf(provider), provider.GetRequiredService<TimeProvider>()),
                HealthStatus.Unhealthy,
                [ReadyTag]));
    }

    private static EventSourcingHealthOptions OptionsOf(IServiceProvider provider) => provider.GetRequiredService<IOptions<EventSourcingHealthOptions>>().Value;

    /// <summary>
    /// Runs <paramref name="read"/> for at most <paramref name="timeout"/>, cancelling it then; a read that ignores its
    /// token is left behind, so a hung store cannot hold the check up.
    /// </summary>
    internal static async Task<T> WithinAsync<T>(Func<CancellationToken, Task<T>> read, TimeSpan timeout, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        using var deadline = new CancellationTokenSource(timeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, cancellationToken);
        return await read(linked.Token).WaitAsync(timeout, timeProvider, cancellationToken).ConfigureAwait(false);
    }
}
