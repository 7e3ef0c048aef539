using EventSourcing.Deciders;
using EventSourcing.Hosting;
using EventSourcing.Projections;
using EventSourcing.Storage;
using EventSourcing.Testing.Contracts.Privacy;
using EventSourcing.Testing.Contracts.Projections;
using Microsoft.Extensions.DependencyInjection;

namespace EventSourcing.Core.Tests.Privacy;

/// <summary>The crypto-shredding contract on the in-memory stores.</summary>
public sealed class InMemoryPrivacyTests : PrivacyContract
{
    protected override Task<ProjectionHost> StartHostAsync(Action<EventSourcingBuilder> configure, Action<IServiceCollection>? services = null) =>
        ProjectionHost.StartAsync(
            es =>
            {
                configure(es);
                es.UseInMemory();
            },
            configureServices: services);

    protected override Task<string> ReadAtRestAsync(ProjectionHost host) => Task.FromResult(string.Join('\n',
        ((InMemoryEventStore)host.Store).ReadAtRest()
            .Concat(((InMemoryProjectionStore)host.ProjectionStore).ReadAtRest())
            .Concat(((InMemorySnapshotStore)host.Services.GetRequiredService<ISnapshotStore>()).ReadAtRest())));
}
