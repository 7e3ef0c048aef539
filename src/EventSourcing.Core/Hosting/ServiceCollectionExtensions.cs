using EventSourcing.Commands;
using EventSourcing.Deciders;
using EventSourcing.Diagnostics;
using EventSourcing.Erasure;
using EventSourcing.Events;
using EventSourcing.Privacy;
using EventSourcing.Projections;
using EventSourcing.Storage;
using Mediator;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace EventSourcing.Hosting;

/// <summary>Registers EventSourcing in a service collection.</summary>
public static class ServiceCollectionExtensions
{
    /// <summary>
    /// Adds the event store (in memory unless <paramref name="configure"/> chooses another), the event type registry
    /// and serializer, decider handlers, and the command pipeline behaviours (validation, then idempotency) that
    /// Mediator runs before every handler. Call <c>AddMediator()</c> (Mediator's source generator) as well.
    /// </summary>
    public static IServiceCollection AddEventSourcing(this IServiceCollection services, Action<EventSourcingBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        var builder = new EventSourcingBuilder(services);
        BindPersonalDataOptions(services); // before the application's own ConfigurePersonalData, which wins
        configure(builder);
        StartupChecks.Run(builder);

        services.AddOptions();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(builder.Events);
        services.AddSingleton(provider =>
        {
            var protector = new Lazy<PersonalDataProtector>(provider.GetRequiredService<PersonalDataProtector>);
            return new EventSourcingJson(builder.SerializerOptions, () => protector.Value, type => builder.Events.TryGetName(type, out _));
        });
        services.TryAddSingleton<IKeyStore>(provider =>
        {
            var options = provider.GetRequiredService<IOptions<PersonalDataOptions>>().Value;
            var master = options.MasterKey is { } key ? MasterKey.FromBase64(options.MasterKeyId, key) : MasterKey.Generate(options.MasterKeyId);
            return new InMemoryKeyStore(master, options.AllowNewKeyAfterForget);
        });
        services.TryAddSingleton<PersonalDataProtector>();
        services.TryAddSingleton<PersonalDataEraser>();
        services.AddSingleton<IEventSerializer>(provider => new SystemTextJsonEventSerializer(builder.Events, provider.GetRequiredService<EventSourcingJson>().Options));
        if (builder.StoreFactory is null)
        {
            builder.UseInMemory();
        }

        services.AddSingleton<IEventStore>(builder.StoreFactory!);
        services.AddSingleton<IEventReader>(provider => provider.GetRequiredService<IEventStore>());
        services.AddSingleton<IEventWriter>(provider => provider.GetRequiredService<IEventStore>());

        var catalog = new ProjectionCatalog(builder.Projections) { RebuildPageSize = builder.RebuildPageSize };
        services.AddSingleton(catalog);
        services.AddSingleton<IProjectionStore>(builder.ProjectionStoreFactory ?? (provider => new InMemoryProjectionStore(provider.GetRequiredService<EventSourcingJson>().Options)));
        services.AddSingleton<IViewReader>(provider => new ViewReader(catalog, provider.GetRequiredService<IProjectionStore>(), provider.GetRequiredService<IEventReader>(), provider.GetRequiredService<TimeProvider>()));
        // One builder of generations for the async runner, the rebuilder and the verifier: the same inputs, one place.
        services.AddSingleton(provider => new GenerationBuilder(
            provider.GetRequiredService<IEventReader>(), provider.GetRequiredService<IProjectionStore>(), provider.GetRequiredService<TimeProvider>(),
            catalog.RebuildPageSize, provider.GetRequiredService<EventSourcingJson>()));
        services.AddSingleton(provider => new ProjectionRebuilder(
            catalog, provider.GetRequiredService<IProjectionStore>(), provider.GetRequiredService<GenerationBuilder>(), provider.GetService<Microsoft.Extensions.Logging.ILogger<ProjectionRebuilder>>()));
        services.AddSingleton<ProjectionStatusReader>();
        services.AddSingleton(provider => new ProjectionVerifier(
            catalog, provider.GetRequiredService<IProjectionStore>(), provider.GetRequiredService<GenerationBuilder>(), builder.SerializerOptions, provider.GetRequiredService<TimeProvider>()));
        if (builder.RunsAsyncProjections && catalog.All.Any(r => r.Lifecycle == ProjectionLifecycle.Async))
        {
            services.AddSingleton<AsyncProjectionRunner>();
            services.AddHostedService(provider => provider.GetRequiredService<AsyncProjectionRunner>());
        }

        services.AddSingleton(new Reactors.ReactorCatalog(builder.Reactors));
        services.TryAddSingleton<Reactors.ILeaderElection>(new Reactors.LocalLeaderElection(builder.NodeName));
        services.AddSingleton<Reactors.ReactorActivity>();
        services.AddSingleton(provider => new Reactors.ReactorStatusReader(
            provider.GetServices<Reactors.Reactor>(), provider.GetRequiredService<IProjectionStore>(), provider.GetRequiredService<IEventReader>(),
            provider.GetRequiredService<Reactors.ILeaderElection>(), provider.GetRequiredService<Reactors.ReactorActivity>(), provider.GetRequiredService<TimeProvider>()));
        if (builder.Reactors.Count > 0)
        {
            services.AddHostedService<Reactors.ReactorRunner>();
        }

        services.AddOptions<TelemetryOptions>();
        services.AddHostedService<FollowerLagMonitor>();

        services.TryAddSingleton<ISnapshotStore>(provider => new InMemorySnapshotStore(provider.GetRequiredService<EventSourcingJson>().Options));
        services.TryAddSingleton<IIdempotencyStore, InMemoryIdempotencyStore>();
        services.AddSingleton(builder.CommandRoutes);
        services.TryAddSingleton<ICommandSender, CommandSender>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton(typeof(IPipelineBehavior<,>), typeof(CommandTelemetryBehavior<,>)));
        services.TryAddEnumerable(ServiceDescriptor.Singleton(typeof(IPipelineBehavior<,>), typeof(ValidationBehavior<,>)));
        services.TryAddEnumerable(ServiceDescriptor.Singleton(typeof(IPipelineBehavior<,>), typeof(IdempotencyBehavior<,>)));
        return services;
    }

    /// <summary>
    /// Binds <see cref="PersonalDataOptions"/> to the configuration section <c>EventSourcing:PersonalData</c>, when the
    /// application has a configuration, and checks them when the host starts.
    /// </summary>
    private static void BindPersonalDataOptions(IServiceCollection services)
    {
        services.AddOptions();
        services.AddSingleton<IConfigureOptions<PersonalDataOptions>>(provider => new ConfigureNamedOptions<PersonalDataOptions>(
            Options.DefaultName,
            options => provider.GetService<IConfiguration>()?.GetSection(PersonalDataOptions.Section).Bind(options)));
        services.AddOptions<PersonalDataOptions>().ValidateOnStart(); // a wrong setting fails when the host starts, naming it
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PersonalDataOptions>, PersonalDataOptionsValidator>());
    }
}
