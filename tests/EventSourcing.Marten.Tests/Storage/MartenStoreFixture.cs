using EventSourcing.Events;
using EventSourcing.Hosting;
using EventSourcing.Marten.Hosting;
using EventSourcing.Storage;
using EventSourcing.Tests.Shared.Postgres;
using Marten;
using Microsoft.Extensions.DependencyInjection;

namespace EventSourcing.Marten.Tests.Storage;

/// <summary>A Marten event store on a fresh database, set up as an application would with <c>UseMarten</c>.</summary>
public sealed class MartenStoreFixture(PostgresFixture postgres) : IAsyncLifetime
{
    private ServiceProvider? _services;

    public string ConnectionString { get; private set; } = "";

    public IServiceProvider Services => _services ?? throw new InvalidOperationException("Not initialized.");

    public IEventStore Store => Services.GetRequiredService<IEventStore>();

    public IDocumentStore DocumentStore => Services.GetRequiredService<IDocumentStore>();

    public static ServiceProvider BuildServices(string connectionString, Action<EventTypeRegistry> register)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddEventSourcing(eventSourcing =>
        {
            register(eventSourcing.Events);
            eventSourcing.UseTestMarten(connectionString);
        });
        return services.BuildServiceProvider();
    }

    public async ValueTask InitializeAsync()
    {
        ConnectionString = await postgres.CreateDatabaseAsync("marten_store", TestContext.Current.CancellationToken);
        _services = BuildServices(ConnectionString, registry => EventSourcing.Testing.Contracts.Storage.ContractEvents.Registry(registry));
    }

    public async ValueTask DisposeAsync()
    {
        if (_services is not null)
        {
            await _services.DisposeAsync();
        }
    }
}
