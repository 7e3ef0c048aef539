using EventSourcing.Commands;
using EventSourcing.Deciders;
using EventSourcing.Marten.Commands;
using EventSourcing.Events;
using EventSourcing.Marten.Deciders;
using EventSourcing.Hosting;
using EventSourcing.Marten.Privacy;
using EventSourcing.Marten.Projections;
using EventSourcing.Privacy;
using EventSourcing.Marten.Storage;
using EventSourcing.Projections;
using EventSourcing.Storage;
using JasperFx.Events.Daemon;
using Marten;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace EventSourcing.Marten.Hosting;

/// <summary>Chooses PostgreSQL through Marten as the event store.</summary>
public static partial class MartenEventSourcingExtensions
{
    /// <summary>
    /// Stores events in PostgreSQL at <paramref name="connectionString"/> through Marten. The schema (Marten's and the
    /// library's tables) is created or updated when the host starts, in every environment, unless Marten's
    /// <c>AutoCreateSchemaObjects</c> resolves to <c>None</c> (set in <paramref name="configure"/>, or by the JasperFx
    /// environment profile): then nothing is created at run time and the schema is applied ahead of time (docs/marten.md). <paramref name="configure"/> runs last, to adjust Marten further. The connection string
    /// gets a 5 s connect timeout, automatic statement preparation and no session reset on close unless it sets them
    /// itself (<see cref="MartenConventions.WithConnectionDefaults"/>), and the node's name as its Application Name unless it
    /// names one (then that name is the node's): see docs/reactors.md on failover.
    /// </summary>
    public static EventSourcingBuilder UseMarten(this EventSourcingBuilder builder, string connectionString, Action<StoreOptions>? configure = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return builder.UseMarten(options =>
        {
            options.Connection(MartenConventions.WithApplicationName(MartenConventions.WithConnectionDefaults(connectionString), builder.NodeName));
            configure?.Invoke(options);
        });
    }

    /// <summary>
    /// Stores events in PostgreSQL through Marten, configured by <paramref name="configureMarten"/> (which must set the
    /// connection). EventSourcing's conventions (<see cref="MartenConventions"/>) are applied first.
    /// </summary>
    public static EventSourcingBuilder UseMarten(this EventSourcingBuilder builder, Action<StoreOptions> configureMarten)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configureMarten);
        builder.Services.AddHostedService<SchemaStartup>(); // before Marten's daemon, which would otherwise race to create the same objects
        builder.Services.AddMarten(services =>
        {
            var options = new StoreOptions();
            MartenConventions.Apply(options, builder.Events, services.GetRequiredService<EventSourcingJson>(), keyTable: services.GetService<KeyDatabase>() is null);
            AddProjections(options, services, builder.Events);
            foreach (var state in builder.DeciderStates)
            {
                options.RegisterDocumentType(typeof(SnapshotDocument<>).MakeGenericType(state));
            }

            configureMarten(options);
            return options;
        })
        .UseLightweightSessions()
        .AddAsyncDaemon(DaemonMode.HotCold); // one node runs each projection shard; others take over when it stops
        MartenFailureLogger.Install(builder.Services); // handled conflicts are no errors (docs/marten.md, "What is logged")
        builder.Services.AddHostedService<Projections.StoppedShardRestarter>(); // a shard stopped by a moved progression starts again (docs/marten.md)

        builder.Services.AddSingleton<EventSourcing.Reactors.ILeaderElection>(services => new Reactors.PostgresLeaderElection(
            services.GetRequiredService<IDocumentStore>(),
            builder.NodeNameSet ? builder.NodeName : null,
            builder.NodeName,
            services.GetService<ILogger<Reactors.PostgresLeaderElection>>() ?? (ILogger)Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance,
            services.GetService<TimeProvider>() ?? TimeProvider.System));
        builder.Services.AddSingleton<IKeyStore>(services =>
        {
            var store = services.GetRequiredService<IDocumentStore>();
            var options = services.GetRequiredService<IOptions<PersonalDataOptions>>().Value;
            var logger = services.GetService<ILogger<PostgresKeyStore>>();
            var time = services.GetService<TimeProvider>();
            return services.GetService<KeyDatabase>() is { } keys
                ? new PostgresKeyStore(keys.DataSource, store.Options.DatabaseSchemaName, MasterKeyFor(services), createSchema: store.Options is StoreOptions { AutoCreateSchemaObjects: not JasperFx.AutoCreate.None }, options, logger, time)
                : new PostgresKeyStore(store, MasterKeyFor(services), options, logger, time);
        });
        builder.Services.AddHostedService<KeyStoreStartupCheck>();
        builder.Services.AddSingleton<IIdempotencyStore, MartenIdempotencyStore>();
        builder.Services.AddSingleton<ISnapshotStore>(services => new MartenSnapshotStore(services.GetRequiredService<IDocumentStore>(), services.GetRequiredService<PersonalDataProtector>()));

        builder.UseProjectionStore(
            services => new MartenProjectionStore(
                services.GetRequiredService<IDocumentStore>(), services.GetRequiredService<ProjectionCatalog>(), services.GetRequiredService<IEventReader>(), services.GetRequiredService<PersonalDataProtector>()),
            runsAsyncProjections: false);

        return builder.UseStore(services => new MartenEventStore(
            services.GetRequiredService<IDocumentStore>(),
            services.GetRequiredService<IEventSerializer>(),
            builder.Events,
            services.GetService<IOptions<MartenStoreOptions>>()?.Value,
            services.GetService<ILogger<MartenEventStore>>(),
            services.GetService<TimeProvider>(),
            services.GetRequiredService<PersonalDataProtector>()));
    }

    /// <summary>
    /// Keeps the personal-data keys in a PostgreSQL database of their own, at <paramref name="connectionString"/>, instead of
    /// the event store's: then a backup of the events never holds a key, and the keys' backups can be kept for a shorter
    /// time (see docs/privacy.md). The key table is created there when the host starts, as the rest of the schema is,
    /// unless Marten's <c>AutoCreateSchemaObjects</c> resolves to <c>None</c>; then apply it ahead of time
    /// (<see cref="PostgresKeyStore.ApplySchemaAsync"/>). Call with <c>UseMarten</c>.
    /// </summary>
    public static EventSourcingBuilder UseKeyDatabase(this EventSourcingBuilder builder, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        builder.Services.AddSingleton(_ => new KeyDatabase(NpgsqlDataSource.Create(MartenConventions.WithConnectionDefaults(connectionString))));
        return builder;
    }

    /// <summary>Registers the view documents, and each stored projection with Marten: inline in appends, async on the daemon.</summary>
    private static void AddProjections(StoreOptions options, IServiceProvider services, EventTypeRegistry registry)
    {
        var catalog = services.GetRequiredService<ProjectionCatalog>();
        MartenProjectionStore.Configure(options, catalog);
        if (catalog.All.Any(r => r.Lifecycle == ProjectionLifecycle.Inline))
        {
            // Inline projections run before the events are inserted: only rich appends give them their positions.
            options.Events.AppendMode = JasperFx.Events.EventAppendMode.Rich;
        }

        var time = services.GetService<TimeProvider>() ?? TimeProvider.System;
        foreach (var registration in catalog.All.Where(r => r.Lifecycle != ProjectionLifecycle.Live))
        {
            var adapter = new MartenProjectionAdapter(
                registration,
                () => (MartenProjectionStore)services.GetRequiredService<IProjectionStore>(),
                () => (MartenEventStore)services.GetRequiredService<IEventStore>(),
                registry,
                time,
                services.GetRequiredService<EventSourcingJson>());
            options.Projections.Add(
                adapter,
                registration.Lifecycle == ProjectionLifecycle.Inline ? JasperFx.Events.Projections.ProjectionLifecycle.Inline : JasperFx.Events.Projections.ProjectionLifecycle.Async,
                registration.Name);
        }
    }

    /// <summary>
    /// The configured master key; in Development without one, a fixed development key (not a secret: never use it for
    /// real data). Anywhere else a missing master key stops the application at start-up.
    /// </summary>
    private static MasterKey MasterKeyFor(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<PersonalDataOptions>>().Value;
        if (options.MasterKey is { Length: > 0 } key)
        {
            return MasterKey.FromBase64(options.MasterKeyId, key);
        }

        if (services.GetService<IHostEnvironment>()?.IsDevelopment() == true)
        {
            if (services.GetService<ILoggerFactory>()?.CreateLogger(typeof(PostgresKeyStore)) is { } logger)
            {
                LogDevelopmentKey(logger);
            }

            return new MasterKey("development", System.Security.Cryptography.SHA256.HashData("EventSourcing development master key: not a secret"u8));
        }

        throw new InvalidOperationException(
            "The PostgreSQL key store needs a master key outside Development: set the configuration value EventSourcing:PersonalData:MasterKey " +
            "(environment variable EventSourcing__PersonalData__MasterKey) to 32 random bytes in base64, for example from `openssl rand -base64 32`, " +
            "or set it in code with ConfigurePersonalData(options => options.MasterKey = ...).");
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "No personal-data master key is configured; using the fixed development key. Set EventSourcing:PersonalData:MasterKey (environment variable EventSourcing__PersonalData__MasterKey; 32 random bytes, base64) outside Development.")]
    private static partial void LogDevelopmentKey(ILogger logger);

    /// <summary>
    /// Applies the schema when the host starts (unless schema creation is off), before the daemon starts its agents:
    /// Marten's, with the library's tables in it, and the key table in a key database of its own.
    /// </summary>
    private sealed class SchemaStartup(IDocumentStore store, IServiceProvider services, ILogger<SchemaStartup> logger) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            await MartenSchema.For(store).EnsureAsync(logger, cancellationToken).ConfigureAwait(false);
            if (services.GetService<KeyDatabase>() is not null && services.GetRequiredService<IKeyStore>() is PostgresKeyStore keys)
            {
                await keys.EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>The key database chosen with <see cref="UseKeyDatabase"/>; disposed with the container.</summary>
    private sealed class KeyDatabase(NpgsqlDataSource dataSource) : IAsyncDisposable
    {
        public NpgsqlDataSource DataSource { get; } = dataSource;

        public ValueTask DisposeAsync() => DataSource.DisposeAsync();
    }

    /// <summary>Resolves the key store when the host starts, so a missing master key stops the application at once.</summary>
    private sealed class KeyStoreStartupCheck(IServiceProvider services) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            services.GetRequiredService<IKeyStore>();
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
