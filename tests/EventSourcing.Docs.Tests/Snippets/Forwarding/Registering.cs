using EventSourcing.Nats;
using Microsoft.Extensions.DependencyInjection;

namespace EventSourcing.Docs.Tests.Snippets.Forwarding;

// docs/forwarding.md, "The NATS JetStream transport": registering it with its options.
internal static class Registering
{
    public static void Register(IServiceCollection services)
    {
        services.AddNatsTransport(nats =>
        {
            nats.Url = "nats://127.0.0.1:4222";
            nats.StreamName = "EVENTSOURCING";                // the JetStream stream, created or updated on first use
            nats.SubjectPrefix = "eventsourcing";             // subjects eventsourcing.{category}.{stream id}
            nats.DuplicateWindow = TimeSpan.FromMinutes(2);   // how long a message id is remembered
            nats.MaxInFlight = 256;                           // publishes waiting for their acknowledgement at once
            nats.AckTimeout = TimeSpan.FromSeconds(5);        // then the broker counts as unavailable
        });
    }
}
