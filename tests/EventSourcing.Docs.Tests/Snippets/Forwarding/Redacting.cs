using EventSourcing.Forwarding;
using EventSourcing.Hosting;
using EventSourcing.Marten.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace EventSourcing.Docs.Tests.Snippets.Forwarding;

// docs/forwarding.md, "Sealed or redacted".
internal static class Redacting
{
    public static void Register(IServiceCollection services, string connectionString)
    {
        services.AddEventSourcing(es => es
            .UseMarten(connectionString)
            .AddForwarder(forwarder => forwarder.PersonalData = ForwardedPersonalData.Redacted));
    }
}
