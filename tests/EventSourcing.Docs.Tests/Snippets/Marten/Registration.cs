using EventSourcing.Hosting;
using EventSourcing.Marten.Hosting;
using EventSourcing.Marten.Storage;
using Microsoft.Extensions.DependencyInjection;
using Reservations.Domain;

namespace EventSourcing.Docs.Tests.Snippets.Marten;

// docs/marten.md, "Registration".
internal static class Registration
{
    public static void Register(IServiceCollection services, string connectionString)
    {
        services.AddEventSourcing(es => es
            .AddDecider(ReservationDecider.Decider, routes => routes.On<ReservationCommand>(c => ReservationDecider.StreamOf(c.Id)))
            .UseMarten(connectionString));                                   // Marten with EventSourcing's conventions

        // or configure Marten yourself (set the connection there); the conventions are applied first:
        services.AddEventSourcing(es => es.UseMarten(marten =>
        {
            marten.Connection(connectionString);
            marten.DatabaseSchemaName = "reservations";
        }));

        services.Configure<MartenStoreOptions>(o => o.SubscriptionFallbackInterval = TimeSpan.FromSeconds(5));   // optional
    }
}
