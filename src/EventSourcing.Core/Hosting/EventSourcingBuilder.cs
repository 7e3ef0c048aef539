using System.Text.Json;
using EventSourcing.Commands;
using EventSourcing.Deciders;
using EventSourcing.Events;
using EventSourcing.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace EventSourcing.Hosting;

/// <summary>Configures EventSourcing inside <see cref="ServiceCollectionExtensions.AddEventSourcing"/>.</summary>
public sealed class EventSourcingBuilder
{
    internal EventSourcingBuilder(IServiceCollection services) => Services = services;

    /// <summary>The application's services, for store packages that register their own.</summary>
    public IServiceCollection Services { get; }

    /// <summary>The event type names; see <see cref="AddEvent{TEvent}"/>.</summary>
    public EventTypeRegistry Events { get; } = new();

    /// <summary>JSON options for events (web defaults: camelCase). Frozen when the serializer is first created.</summary>
    public JsonSerializerOptions SerializerOptions { get; } = new(JsonSerializerDefaults.Web);

    /// <summary>The store chosen, or null for the in-memory default.</summary>
    internal Func<IServiceProvider, IEventStore>? StoreFactory { get; private set; }

    /// <summary>The store's name, for diagnostics.</summary>
    internal string StoreName { get; private set; } = "in-memory";

    /// <summary>Registers an event type under its stable stored name (for example <c>reservation-placed.v1</c>), with older names as aliases.</summary>
    public EventSourcingBuilder AddEvent<TEvent>(string name, params string[] aliases)
    {
        Events.Register<TEvent>(name, aliases);
        return this;
    }

    /// <summary>Keeps events in memory: the embedded default, for development and tests. Nothing survives the process.</summary>
    public EventSourcingBuilder UseInMemory() =>
        UseStore("in-memory", services => new InMemoryEventStore(services.GetRequiredService<IEventSerializer>(), services.GetRequiredService<TimeProvider>()));

    /// <summary>Uses the store <paramref name="factory"/> creates (called once; the store is a singleton). Store packages call this.</summary>
    public EventSourcingBuilder UseStore(string name, Func<IServiceProvider, IEventStore> factory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        StoreFactory = factory ?? throw new ArgumentNullException(nameof(factory));
        StoreName = name;
        return this;
    }

    /// <summary>
    /// Registers <paramref name="decider"/>, so that <see cref="DeciderHandler{TCommand, TEvent, TState}"/> for it can be injected
    /// into the application's command handlers.
    /// </summary>
    public EventSourcingBuilder AddDecider<TCommand, TEvent, TState>(Decider<TCommand, TEvent, TState> decider)
        where TCommand : notnull
        where TEvent : notnull
    {
        ArgumentNullException.ThrowIfNull(decider);
        Services.AddSingleton(decider);
        Services.AddSingleton<DeciderHandler<TCommand, TEvent, TState>>();
        return this;
    }

    /// <summary>Sets how command handlers retry after concurrency conflicts.</summary>
    public EventSourcingBuilder ConfigureCommands(Action<CommandHandlingOptions> configure)
    {
        Services.Configure(configure);
        return this;
    }

    /// <summary>Sets how long idempotency records are kept.</summary>
    public EventSourcingBuilder ConfigureIdempotency(Action<IdempotencyOptions> configure)
    {
        Services.Configure(configure);
        return this;
    }
}
