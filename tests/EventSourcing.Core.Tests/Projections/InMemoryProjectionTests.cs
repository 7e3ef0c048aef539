using EventSourcing.Hosting;
using EventSourcing.Testing.Contracts.Projections;

namespace EventSourcing.Core.Tests.Projections;

/// <summary>The projection contract on the in-memory store and runner.</summary>
public sealed class InMemoryProjectionTests : ProjectionContract
{
    protected override Task<ProjectionHost> StartHostAsync(Action<EventSourcingBuilder> configure) =>
        ProjectionHost.StartAsync(es =>
        {
            configure(es);
            es.UseInMemory();
        });
}
