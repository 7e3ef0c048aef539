using EventSourcing.Forwarding;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EventSourcing.Nats;

/// <summary>Registers <see cref="NatsJetStreamTransport"/>.</summary>
public static class NatsTransportServiceCollectionExtensions
{
    /// <summary>
    /// Registers a <see cref="NatsJetStreamTransport"/> as the <see cref="IEventTransport"/> (and as itself), a singleton
    /// with a NATS connection of its own to <see cref="NatsTransportOptions.Url"/>, closed when the container is disposed.
    /// The options are checked here.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns>The services, for chaining.</returns>
    public static IServiceCollection AddNatsTransport(this IServiceCollection services, Action<NatsTransportOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new NatsTransportOptions();
        configure(options);
        options.Validate();
        services.AddSingleton(provider => new NatsJetStreamTransport(options, provider.GetService<ILoggerFactory>()));
        services.AddSingleton<IEventTransport>(provider => provider.GetRequiredService<NatsJetStreamTransport>());
        return services;
    }
}
