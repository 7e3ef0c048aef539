using EventSourcing.Hosting;
using EventSourcing.Marten.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace EventSourcing.Docs.Tests.Snippets.Forwarding;

// docs/forwarding.md, "The forwarder".
internal static class Forwarder
{
    public static void Register(IServiceCollection services, string connectionString)
    {
        services.AddEventSourcing(es => es
            .UseMarten(connectionString)
            .AddForwarder(forwarder => forwarder.Name = "broker"));
    }
}
