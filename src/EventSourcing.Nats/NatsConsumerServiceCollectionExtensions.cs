using EventSourcing.Events;
using EventSourcing.Privacy;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EventSourcing.Nats;

/// <summary>Registers a <see cref="NatsEventConsumer"/> as a hosted service.</summary>
public static class NatsConsumerServiceCollectionExtensions
{
    /// <summary>
    /// Registers a <see cref="NatsEventConsumer"/> that runs from the host's start until it stops, handing each event to
    /// a <typeparamref name="THandler"/> resolved in a scope of its own. Also registers, unless registered already, an
    /// <see cref="InMemoryProcessedEvents"/> as the <see cref="IProcessedEvents"/> (register a durable one first for a
    /// handler with side effects) and a <see cref="TrustedEventReader"/> (resolvable once the container has
    /// <c>AddEventSourcing</c>). The options are checked here.
    /// </summary>
    /// <typeparam name="THandler">The handler; registered scoped unless registered already.</typeparam>
    /// <param name="services">The services.</param>
    /// <param name="configure">Sets the options; <see cref="NatsConsumerOptions.DurableName"/> is required.</param>
    /// <returns>The services, for chaining.</returns>
    public static IServiceCollection AddNatsEventConsumer<THandler>(this IServiceCollection services, Action<NatsConsumerOptions> configure)
        where THandler : class, IReceivedEventProcessor
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new NatsConsumerOptions();
        configure(options);
        options.Validate();
        services.TryAddScoped<THandler>();
        services.TryAddSingleton<IProcessedEvents, InMemoryProcessedEvents>();
        services.TryAddSingleton(provider => new TrustedEventReader(
            provider.GetService<IEventSerializer>() ?? throw new InvalidOperationException(
                "TrustedEventReader reads through the library's serializer and key store: call AddEventSourcing, with the event types and the key store and master key of the application that wrote the log."),
            provider.GetRequiredService<PersonalDataProtector>()));
        services.AddSingleton<IHostedService>(provider => new ConsumerService(new NatsEventConsumer(
            options,
            async (received, cancellationToken) =>
            {
                var scope = provider.CreateAsyncScope();
                await using (scope.ConfigureAwait(false))
                {
                    await scope.ServiceProvider.GetRequiredService<THandler>().HandleAsync(received, cancellationToken).ConfigureAwait(false);
                }
            },
            provider.GetRequiredService<IProcessedEvents>(),
            provider.GetService<ILoggerFactory>())));
        return services;
    }

    private sealed class ConsumerService(NatsEventConsumer consumer) : BackgroundService
    {
        protected override Task ExecuteAsync(CancellationToken stoppingToken) => consumer.RunAsync(stoppingToken);
    }
}
