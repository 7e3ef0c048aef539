using System.Text.Json.Serialization.Metadata;
using EventSourcing.Events;
using EventSourcing.Marten.Privacy;
using EventSourcing.Privacy;
using JasperFx.Events;
using Marten;
using Weasel.Core;

namespace EventSourcing.Marten.Hosting;

/// <summary>What the EventSourcing store needs of Marten's configuration, applied by <see cref="MartenEventSourcingExtensions.UseMarten(EventSourcing.Hosting.EventSourcingBuilder, string, Action{StoreOptions}?)"/>.</summary>
public static class MartenConventions
{
    /// <summary>
    /// String stream keys; quick append; correlation, causation, user and header columns; a unique index on event
    /// ids (so a repeated command is detected in the database); the registry's stable type names; System.Text.Json
    /// with camelCase names, as the EventSourcing serializer reads them, and crypto-shredding of personal data; the key tables.
    /// </summary>
    public static void Apply(StoreOptions options, EventTypeRegistry registry, EventSourcingJson json)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(json);
        options.Events.StreamIdentity = StreamIdentity.AsString;
        options.Events.AppendMode = EventAppendMode.QuickWithServerTimestamps;
        options.Events.MetadataConfig.EnableAll();
        options.Events.MetadataConfig.UserNameEnabled = true;
        options.Events.UseListenNotifyForEventAppends = true;
        options.Events.EnableUniqueIndexOnEventId = true;

        // The daemon looks for the projections' locks again this often, also after a database outage: 5 s by default,
        // which keeps the async views (and read-your-writes) behind for that long once the database is back.
        options.Projections.LeadershipPollingTime = 1_000;
        foreach (var (name, type) in registry.Registrations)
        {
            options.Events.MapEventType(type, name);
        }

        options.UseSystemTextJsonForSerialization(EnumStorage.AsString, Casing.CamelCase, marten =>
        {
            marten.PropertyNameCaseInsensitive = true;
            foreach (var converter in json.Options.Converters)
            {
                marten.Converters.Add(converter);
            }

            // Crypto-shredding on everything Marten serializes: events, view documents, snapshots.
            marten.TypeInfoResolver = (marten.TypeInfoResolver ?? new DefaultJsonTypeInfoResolver()).WithAddedModifier(json.Modifier);
        });
        PostgresKeyStore.Configure(options);
        options.Schema.For<Commands.IdempotencyDocument>();
    }
}
