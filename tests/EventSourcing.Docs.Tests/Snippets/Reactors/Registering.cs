using EventSourcing.Hosting;
using EventSourcing.Projections;
using Microsoft.Extensions.DependencyInjection;
using Reservations.Domain;

namespace EventSourcing.Docs.Tests.Snippets.Reactors;

// docs/reactors.md, "Writing and registering one": registering the reactor with its options.
internal static class Registering
{
    public static void Register(IServiceCollection services)
    {
        services.AddEventSourcing(es => es
            .AddReactor<ConfirmationReactor>(reactor =>
            {
                reactor.OnPoisonEvent = PoisonEventPolicy.Stop; // stop at an event it keeps failing on, until replayed
                reactor.MaxAttempts = 10;                        // tries of one event before that
                reactor.CheckpointEvery = 500;                   // commit the checkpoint every 500 handled events,
                reactor.CheckpointInterval = TimeSpan.FromSeconds(1); // or a second after the first uncommitted one
            }));
    }
}
