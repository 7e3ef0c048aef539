using EventSourcing.Hosting;
using EventSourcing.Marten.Hosting;
using EventSourcing.Nats;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Reservations.Notifier;

/// <summary>Everything the notifier registers.</summary>
public static class NotifierModule
{
    public static IServiceCollection AddNotifier(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<NotifierOptions>(configuration.GetSection(NotifierOptions.Section));
        var defaults = new NatsTransportOptions();
        var nats = new NatsLocation(
            Setting(configuration, "Nats:Url") ?? defaults.Url,
            Setting(configuration, "Nats:StreamName") ?? defaults.StreamName,
            Setting(configuration, "Nats:SubjectPrefix") ?? defaults.SubjectPrefix);
        services.AddSingleton(nats);
        services.AddSingleton<PlacementLookup>();
        services.TryAddSingleton(TimeProvider.System);

        if (Setting(configuration, "ConnectionStrings:Postgres") is { } postgres)
        {
            // A trusted consumer: the API's key store (its events database, or ConnectionStrings:Keys) and master key.
            services.AddEventSourcing(es =>
            {
                es.Events.Register<ReservationPlaced>(ReservationEventTypes.Placed).Register<ReservationConfirmed>(ReservationEventTypes.Confirmed);
                es.UseMarten(postgres);
                if (Setting(configuration, "ConnectionStrings:Keys") is { } keys)
                {
                    es.UseKeyDatabase(keys);
                }
            });
            services.AddSingleton<IPlacementReader, TrustedPlacementReader>();
        }
        else
        {
            services.AddSingleton<IPlacementReader, SealedPlacementReader>();
        }

        services.AddNatsEventConsumer<ConfirmationMailer>(consumer =>
        {
            consumer.Url = nats.Url;
            consumer.StreamName = nats.StreamName;
            consumer.DurableName = Setting(configuration, "Notifier:DurableName") ?? new NotifierOptions().DurableName;
            consumer.FilterSubject = $"{nats.SubjectPrefix}.reservation.>";
            consumer.EventTypes = [ReservationEventTypes.Confirmed];
        });
        return services;
    }

    private static string? Setting(IConfiguration configuration, string key) =>
        configuration[key] is { } value && !string.IsNullOrWhiteSpace(value) ? value : null;
}
