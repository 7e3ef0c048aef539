using EventSourcing.Hosting;
using EventSourcing.Marten.Hosting;
using EventSourcing.Forwarding;
using EventSourcing.Nats;
using FluentValidation;
using Reservations.Domain;
using Reservations.GettingAvailability;
using Reservations.GettingReservation;
using Reservations.PlacingReservation;

namespace Reservations;

/// <summary>Everything the reservation API registers: events, deciders, projections, the reactor, the store, and the forwarder when <c>Nats:Url</c> is set.</summary>
public static class ReservationsModule
{
    public static IServiceCollection AddReservations(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<ReservationOptions>(configuration.GetSection("Reservations"));
        var postgres = configuration.GetConnectionString("Postgres");
        var nats = configuration["Nats:Url"]; // set: the log is forwarded to NATS JetStream
        services.AddEventSourcing(es =>
        {
            // Events are named by their [EventType]; each decider's commands go to the stream their route names.
            es.AddDecider(ReservationDecider.Decider, routes => routes.On<ReservationCommand>(c => ReservationDecider.StreamOf(c.Id)))
                .AddDecider(DayCapacityDecider.Decider, routes => routes.On<DayCommand>(c => DayCapacityDecider.StreamOf(c.Day)))
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

            if (!string.IsNullOrWhiteSpace(nats))
            {
                // The log to NATS JetStream, personal values sealed (Nats:PersonalData = Redacted: left out).
                var personalData = ForwardedPersonalDataSetting(configuration["Nats:PersonalData"]);
                es.AddForwarder(forwarder => forwarder.PersonalData = personalData);
            }
        });
        if (!string.IsNullOrWhiteSpace(nats))
        {
            services.AddNatsTransport(options =>
            {
                options.Url = nats;
                options.StreamName = configuration["Nats:StreamName"] is { Length: > 0 } stream ? stream : options.StreamName;
                options.SubjectPrefix = configuration["Nats:SubjectPrefix"] is { Length: > 0 } prefix ? prefix : options.SubjectPrefix;
            });
        }

        services.AddValidatorsFromAssemblyContaining<PlaceReservationValidator>(ServiceLifetime.Singleton);
        return services;
    }

    private static ForwardedPersonalData ForwardedPersonalDataSetting(string? value) =>
        string.IsNullOrWhiteSpace(value) ? ForwardedPersonalData.Sealed
        : Enum.TryParse<ForwardedPersonalData>(value, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed) ? parsed
        : throw new InvalidOperationException($"Nats:PersonalData is '{value}': it is Sealed (the default) or Redacted.");
}
