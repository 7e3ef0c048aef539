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

    /// <summary>
    /// <paramref name="connectionString"/> with Npgsql's automatic statement preparation on (<c>Max Auto Prepare=50</c>,
    /// <c>Auto Prepare Min Usages=2</c>) unless it says otherwise. Every command runs the same few statements (read a stream,
    /// append, idempotency and key look-ups); prepared, PostgreSQL no longer parses and plans them each time, which
    /// roughly halves the database's CPU per command (docs/benchmarks.md). Set <c>Max Auto Prepare=0</c> to turn it off,
    /// e.g. behind a connection pooler that cannot keep prepared statements.
    /// </summary>
    public static string WithPreparedStatements(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        var chosen = given.Keys.Cast<string>().Any(key => key.Replace(" ", string.Empty, StringComparison.Ordinal).Equals("MaxAutoPrepare", StringComparison.OrdinalIgnoreCase));
        return chosen
            ? connectionString
            : new Npgsql.NpgsqlConnectionStringBuilder(connectionString) { MaxAutoPrepare = 50, AutoPrepareMinUsages = 2 }.ConnectionString;
    }
}
