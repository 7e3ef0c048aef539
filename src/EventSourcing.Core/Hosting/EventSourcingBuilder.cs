using EventSourcing.Erasure;
using System.Text.Json;
using EventSourcing.Commands;
using EventSourcing.Deciders;
using EventSourcing.Events;
using EventSourcing.Privacy;
using EventSourcing.Projections;
using EventSourcing.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace EventSourcing.Hosting;

/// <summary>Configures EventSourcing inside <see cref="ServiceCollectionExtensions.AddEventSourcing"/>.</summary>
public sealed class EventSourcingBuilder
{
    internal EventSourcingBuilder(IServiceCollection services)
    {
        Services = services;
        Events.Register<PersonalDataForgotten>("personal-data-forgotten.v1");
    }

    /// <summary>The application's services, for store packages that register their own.</summary>
    public IServiceCollection Services { get; }

    /// <summary>The event type names; see <see cref="AddEvent{TEvent}"/>.</summary>
    public EventTypeRegistry Events { get; } = new();

    /// <summary>JSON options for events (web defaults: camelCase). Frozen when the serializer is first created.</summary>
    public JsonSerializerOptions SerializerOptions { get; } = new(JsonSerializerDefaults.Web);

    /// <summary>The store chosen, or null for the in-memory default.</summary>
    internal Func<IServiceProvider, IEventStore>? StoreFactory { get; private set; }

    /// <summary>The state types of the registered deciders (their snapshots are stored per type), for store packages.</summary>
    public IReadOnlyList<Type> DeciderStates => _deciderStates;

    private readonly List<Type> _deciderStates = [];

    /// <summary>The registered projections.</summary>
    internal List<ProjectionRegistration> Projections { get; } = [];

    /// <summary>Where views are kept, or null for memory.</summary>
    internal Func<IServiceProvider, IProjectionStore>? ProjectionStoreFactory { get; private set; }

    /// <summary>Whether EventSourcing runs the async projections itself (false when the store has a daemon of its own).</summary>
    internal bool RunsAsyncProjections { get; private set; } = true;

    /// <summary>
    /// Registers a projection. Async projections follow the log (read-your-writes: wait for the append's position);
    /// inline ones are written in the append's transaction; live ones are folded on read. Events a projection fails on
    /// are dead-lettered while following the log, and stop a rebuild, unless the policies say otherwise.
    /// </summary>
    public EventSourcingBuilder AddProjection(
        IProjection projection,
        ProjectionLifecycle lifecycle = ProjectionLifecycle.Async,
        PoisonEventPolicy onPoisonEvent = PoisonEventPolicy.DeadLetter,
        PoisonEventPolicy onPoisonEventInRebuild = PoisonEventPolicy.Stop)
    {
        ArgumentNullException.ThrowIfNull(projection);
        Projections.Add(new ProjectionRegistration(projection, lifecycle, onPoisonEvent, onPoisonEventInRebuild));
        return this;
    }

    /// <summary>Keeps views in the store <paramref name="factory"/> creates; store packages call this.</summary>
    /// <param name="factory">Creates the projection store (once).</param>
    /// <param name="runsAsyncProjections">False when the store runs async projections with a daemon of its own.</param>
    public EventSourcingBuilder UseProjectionStore(Func<IServiceProvider, IProjectionStore> factory, bool runsAsyncProjections)
    {
        ProjectionStoreFactory = factory ?? throw new ArgumentNullException(nameof(factory));
        RunsAsyncProjections = runsAsyncProjections;
        return this;
    }

    /// <summary>Registers an event type under its stable stored name (for example <c>reservation-placed.v1</c>), with older names as aliases.</summary>
    public EventSourcingBuilder AddEvent<TEvent>(string name, params string[] aliases)
    {
        Events.Register<TEvent>(name, aliases);
        return this;
    }

    /// <summary>Registers every type of <paramref name="assembly"/> marked <see cref="EventTypeAttribute"/> under its name and aliases.</summary>
    public EventSourcingBuilder AddEventTypesFrom(System.Reflection.Assembly assembly)
    {
        Events.RegisterNamedTypes(assembly);
        return this;
    }

    /// <summary>Registers every type marked <see cref="EventTypeAttribute"/> in the assembly of <typeparamref name="T"/>.</summary>
    public EventSourcingBuilder AddEventTypesFromAssemblyContaining<T>() => AddEventTypesFrom(typeof(T).Assembly);

    /// <summary>Keeps events in memory: the embedded default, for development and tests. Nothing survives the process.</summary>
    public EventSourcingBuilder UseInMemory()
    {
        ProjectionStoreFactory = null;
        RunsAsyncProjections = true;
        return UseStore(services =>
        {
            var time = services.GetRequiredService<TimeProvider>();
            var inline = new InlineProjector(services.GetRequiredService<ProjectionCatalog>(), services.GetRequiredService<IProjectionStore>(), time, services.GetRequiredService<EventSourcingJson>());
            return new InMemoryEventStore(services.GetRequiredService<IEventSerializer>(), time, inline.IsEmpty ? null : inline);
        });
    }

    /// <summary>Uses the store <paramref name="factory"/> creates (called once; the store is a singleton). Store packages call this.</summary>
    public EventSourcingBuilder UseStore(Func<IServiceProvider, IEventStore> factory)
    {
        StoreFactory = factory ?? throw new ArgumentNullException(nameof(factory));
        return this;
    }

    /// <summary>
    /// Registers <paramref name="decider"/>, so that <see cref="DeciderHandler{TCommand, TEvent, TState}"/> for it can be injected
    /// (to load a stream's state, or to decide commands with metadata of the caller's own). Event types derived from
    /// <typeparamref name="TEvent"/> and marked <see cref="EventTypeAttribute"/> in its assembly are registered under their names.
    /// </summary>
    public EventSourcingBuilder AddDecider<TCommand, TEvent, TState>(Decider<TCommand, TEvent, TState> decider)
        where TCommand : notnull
        where TEvent : notnull =>
        AddDecider(decider, static _ => { });

    /// <summary>
    /// Registers <paramref name="decider"/> and how its commands find their stream, so that they are sent with
    /// <see cref="ICommandSender"/> through the command pipeline without a handler class each:
    /// <c>AddDecider(decider, routes => routes.On&lt;OpenAccount&gt;(c => $"account-{c.AccountId}"))</c>.
    /// </summary>
    /// <exception cref="ArgumentException">A command type is routed twice.</exception>
    public EventSourcingBuilder AddDecider<TCommand, TEvent, TState>(Decider<TCommand, TEvent, TState> decider, Action<CommandRoutes<TCommand>> routes)
        where TCommand : notnull
        where TEvent : notnull
    {
        ArgumentNullException.ThrowIfNull(decider);
        ArgumentNullException.ThrowIfNull(routes);
        var table = new CommandRoutes<TCommand>();
        routes(table);
        foreach (var (type, streamOf) in table.All)
        {
            CommandRoutes.Add(new CommandRoute(type, typeof(TCommand), streamOf, static (services, command, stream, metadata, expected, cancellationToken) =>
                services.GetRequiredService<DeciderHandler<TCommand, TEvent, TState>>().HandleAsync(stream, (TCommand)command, metadata, expected, cancellationToken)));
        }

        Services.AddSingleton(decider);
        Services.AddSingleton<DeciderHandler<TCommand, TEvent, TState>>();
        _deciderStates.Add(typeof(TState));
        DeciderEvents.Add(typeof(TEvent));
        return this;
    }

    /// <summary>The routes of the registered deciders' commands.</summary>
    internal CommandRouteTable CommandRoutes { get; } = new();

    /// <summary>The event base types of the registered deciders.</summary>
    internal List<Type> DeciderEvents { get; } = [];

    /// <summary>The registered reactors.</summary>
    internal List<Reactors.ReactorRegistration> Reactors { get; } = [];

    /// <summary>
    /// This process's name in status reports (the process running a reactor). Default: machine name and process id (on
    /// PostgreSQL, the connection string's Application Name when it sets one).
    /// </summary>
    public string NodeName { get; private set; } = $"{Environment.MachineName}/{Environment.ProcessId}";

    /// <summary>Whether <see cref="NodeName"/> was set by the application.</summary>
    public bool NodeNameSet { get; private set; }

    /// <summary>
    /// Registers a reactor (a process manager turning events into commands), run by a checkpointed background runner in
    /// one process at a time; <paramref name="configure"/> sets its poison policy and checkpoint batching. See docs/reactors.md.
    /// </summary>
    public EventSourcingBuilder AddReactor<TReactor>(Action<Reactors.ReactorOptions>? configure = null)
        where TReactor : Reactors.Reactor
    {
        var options = new Reactors.ReactorOptions();
        configure?.Invoke(options);
        options.Validate(typeof(TReactor).Name);
        Services.AddSingleton<Reactors.Reactor, TReactor>();
        Reactors.Add(new Reactors.ReactorRegistration(typeof(TReactor), options));
        return this;
    }

    /// <summary>
    /// Forwards the log to a broker through the registered <see cref="Forwarding.IEventTransport"/> (for example
    /// <c>AddNatsTransport</c> of <c>EventSourcing.Nats</c>): a follower of the log that runs as a reactor (one process at
    /// a time, checkpointed, with failover), publishing pages of events in log order and moving its checkpoint only past
    /// what the broker acknowledged. One forwarder per application. See docs/forwarding.md.
    /// </summary>
    public EventSourcingBuilder AddForwarder(Action<Forwarding.ForwarderOptions>? configure = null)
    {
        var options = new Forwarding.ForwarderOptions();
        configure?.Invoke(options);
        options.Validate();
        if (Reactors.Any(r => r.ReactorType == typeof(Forwarding.ForwardingReactor)))
        {
            throw new InvalidOperationException("A forwarder is registered already: an application has one.");
        }

        var reactorOptions = new Reactors.ReactorOptions
        {
            MaxAttempts = options.MaxAttempts,
            OnPoisonEvent = options.OnPoisonEvent,
            CheckpointEvery = int.MaxValue, // by time only: a page is committed as a whole, and often enough by the interval
            CheckpointInterval = options.CheckpointInterval,
        };
        reactorOptions.Validate(options.Name);
        Services.AddSingleton<Reactors.Reactor>(provider => new Forwarding.ForwardingReactor(
            options,
            provider.GetService<Forwarding.IEventTransport>() ?? throw new InvalidOperationException(
                "AddForwarder needs a transport to publish through: register an IEventTransport (for example AddNatsTransport of EventSourcing.Nats)."),
            provider.GetRequiredService<Events.IEventSerializer>(),
            provider.GetRequiredService<Privacy.PersonalDataProtector>()));
        Reactors.Add(new Reactors.ReactorRegistration(typeof(Forwarding.ForwardingReactor), reactorOptions));
        return this;
    }

    /// <summary>Names this process in status reports (default: machine name and process id).</summary>
    public EventSourcingBuilder SetNodeName(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        NodeName = name;
        NodeNameSet = true;
        return this;
    }

    /// <summary>Sets how command handlers retry after concurrency conflicts.</summary>
    public EventSourcingBuilder ConfigureCommands(Action<CommandHandlingOptions> configure)
    {
        Services.Configure(configure);
        return this;
    }

    /// <summary>Sets crypto-shredding options: the master key, key caching, the erased placeholder, new keys after forgetting.</summary>
    public EventSourcingBuilder ConfigurePersonalData(Action<PersonalDataOptions> configure)
    {
        Services.Configure(configure);
        return this;
    }

    /// <summary>
    /// Sets how many events a rebuild or a verification applies per committed page (default 10,000; the in-memory runner
    /// following the log commits at most 1,000 per page, however far behind it is): larger pages write views touched by many events less often and resume from further back after an
    /// interruption; memory grows with the page (about two pages of events are held while reading ahead).
    /// </summary>
    public EventSourcingBuilder SetRebuildPageSize(int events)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(events, 1);
        RebuildPageSize = events;
        return this;
    }

    /// <summary>Events per committed page when building views from behind.</summary>
    internal int RebuildPageSize { get; private set; } = ProjectionCatalog.DefaultRebuildPageSize;

    /// <summary>Sets how long idempotency records are kept.</summary>
    public EventSourcingBuilder ConfigureIdempotency(Action<IdempotencyOptions> configure)
    {
        Services.Configure(configure);
        return this;
    }
}
