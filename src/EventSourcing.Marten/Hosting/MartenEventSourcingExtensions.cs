using EventSourcing.Events;
using EventSourcing.Hosting;
using EventSourcing.Marten.Storage;
using Marten;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EventSourcing.Marten.Hosting;

/// <summary>Chooses PostgreSQL through Marten as the event store.</summary>
public static class MartenEventSourcingExtensions
{
    /// <summary>
    /// Stores events in PostgreSQL at <paramref name="connectionString"/> through Marten. Schema creation follows
    /// Marten's environment profiles: created or updated automatically in Development, not at all elsewhere, where it
    /// is applied ahead of time (see docs/marten.md); set <c>AutoCreateSchemaObjects</c> in <paramref name="configure"/>
    /// to choose explicitly. <paramref name="configure"/> runs last, to adjust Marten further.
    /// </summary>
    public static EventSourcingBuilder UseMarten(this EventSourcingBuilder builder, string connectionString, Action<StoreOptions>? configure = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return builder.UseMarten(options =>
        {
            options.Connection(connectionString);
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
        builder.Services.AddMarten(services =>
        {
            var options = new StoreOptions();
            MartenConventions.Apply(options, builder.Events, builder.SerializerOptions);
            configureMarten(options);
            return options;
        }).UseLightweightSessions();

        return builder.UseStore("postgresql", services => new MartenEventStore(
            services.GetRequiredService<IDocumentStore>(),
            services.GetRequiredService<IEventSerializer>(),
            builder.Events,
            services.GetService<IOptions<MartenStoreOptions>>()?.Value,
            services.GetService<ILogger<MartenEventStore>>(),
            services.GetService<TimeProvider>()));
    }
}
