using System.Security.Cryptography;
using EventSourcing.Benchmarks.Domain;
using EventSourcing.Hosting;
using EventSourcing.Marten.Hosting;
using EventSourcing.Projections;
using FluentValidation;
using JasperFx;
using Microsoft.Extensions.DependencyInjection;

namespace EventSourcing.Benchmarks.Harness;

/// <summary>The container an application on EventSourcing builds: the accounts decider, the ledger events and projections, Mediator and validators.</summary>
public static class Apps
{
    private static readonly string MasterKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    /// <summary>On PostgreSQL at <paramref name="postgres"/>, or in memory when it is null. Hosted services (daemon, runners) are not started.</summary>
    public static ServiceProvider Build(string? postgres, Action<EventSourcingBuilder>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddEventSourcing(es =>
        {
            AccountDecider.Register(es.Events);
            Ledger.Register(es.Events);
            es.AddDecider(AccountDecider.Decider);
            es.AddProjection(new DaySeatsProjection());
            es.ConfigurePersonalData(options => options.MasterKey = MasterKey);
            if (postgres is not null)
            {
                es.UseMarten(postgres, marten => marten.AutoCreateSchemaObjects = AutoCreate.CreateOrUpdate);
            }

            configure?.Invoke(es);
        });
        services.AddMediator(options => options.ServiceLifetime = ServiceLifetime.Singleton);
        services.AddValidatorsFromAssemblyContaining<DepositValidator>(ServiceLifetime.Singleton);
        return services.BuildServiceProvider();
    }

    /// <summary>Applies Marten's schema (events, documents, key tables) before anything is timed.</summary>
    public static async Task PrepareAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (services.GetService<global::Marten.IDocumentStore>() is { } store)
        {
            await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync().ConfigureAwait(false);
            _ = await services.GetRequiredService<EventSourcing.Storage.IEventStore>().ReadHeadPositionAsync(cancellationToken).ConfigureAwait(false);
        }

        _ = services.GetRequiredService<ProjectionRebuilder>();
    }
}
