using EventSourcing.Hosting;
using EventSourcing.Marten.Hosting;
using EventSourcing.Privacy;
using FluentValidation;
using Reservations.Domain;
using Reservations.GettingAvailability;
using Reservations.GettingReservation;
using Reservations.PlacingReservation;

namespace Reservations;

/// <summary>Everything the reservation API registers: events, deciders, projections, the reactor, and the store.</summary>
public static class ReservationsModule
{
    public static IServiceCollection AddReservations(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<ReservationOptions>(configuration.GetSection("Reservations"));
        services.Configure<PersonalDataOptions>(configuration.GetSection("EventSourcing:PersonalData"));
        var postgres = configuration.GetConnectionString("Postgres");
        services.AddEventSourcing(es =>
        {
            es.AddEvent<ReservationPlaced>("reservation-placed.v1")
                .AddEvent<ReservationConfirmed>("reservation-confirmed.v1")
                .AddEvent<ReservationRejected>("reservation-rejected.v1")
                .AddEvent<ReservationCancelled>("reservation-cancelled.v1")
                .AddEvent<SeatsHeld>("seats-held.v1")
                .AddEvent<SeatsReleased>("seats-released.v1")
                .AddEvent<SeatsRefused>("seats-refused.v1")
                .AddDecider(ReservationDecider.Decider)
                .AddDecider(DayCapacityDecider.Decider)
                .AddProjection(new ReservationDetailsProjection())
                .AddProjection(new DayAvailabilityProjection())
                .AddReactor<ConfirmationReactor>();
            if (configuration["EventSourcing:NodeName"] is { } node && !string.IsNullOrWhiteSpace(node))
            {
                es.SetNodeName(node); // how status shows this process (default: machine name and process id)
            }

            if (string.IsNullOrWhiteSpace(postgres))
            {
                es.UseInMemory();
            }
            else
            {
                es.UseMarten(postgres);
                if (configuration.GetConnectionString("Keys") is { Length: > 0 } keys)
                {
                    es.UseKeyDatabase(keys); // personal-data keys in a database of their own: the events' backups hold none
                }
            }
        });
        services.AddMediator(options => options.ServiceLifetime = ServiceLifetime.Singleton);
        services.AddValidatorsFromAssemblyContaining<PlaceReservationValidator>(ServiceLifetime.Singleton);
        return services;
    }
}
