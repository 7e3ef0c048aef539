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
    /// with camelCase names, as the EventSourcing serializer reads them, and crypto-shredding of personal data; the
    /// idempotency table, and the key table unless <paramref name="keyTable"/> is false (the keys live in a database of their own).
    /// </summary>
    public static void Apply(StoreOptions options, EventTypeRegistry registry, EventSourcingJson json, bool keyTable = true)
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
        if (keyTable)
        {
            PostgresKeyStore.Configure(options);
        }

        Commands.MartenIdempotencyStore.Configure(options);
    }

    /// <summary>
    /// How long opening a connection may take when the connection string does not say (its <c>Timeout</c>): 5 seconds,
    /// not Npgsql's 15. A database that accepts connections but does not answer (hung, or behind a network that drops
    /// packets) then fails an operation in seconds, and so does the cancellation of a command already sent to it, which
    /// opens a connection of its own.
    /// </summary>
    public const int ConnectTimeoutSeconds = 5;

    /// <summary>
    /// <paramref name="connectionString"/> with <paramref name="applicationName"/> as its Application Name, unless it names
    /// one. A process's connections then carry its node's name, which is how a process that takes a reactor over finds
    /// the sessions a frozen predecessor left open (docs/reactors.md).
    /// </summary>
    public static string WithApplicationName(string connectionString, string applicationName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        ArgumentException.ThrowIfNullOrWhiteSpace(applicationName);
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString }.Keys.Cast<string>()
            .Any(key => key.Replace(" ", string.Empty, StringComparison.Ordinal).Equals("ApplicationName", StringComparison.OrdinalIgnoreCase));
        return given ? connectionString : new Npgsql.NpgsqlConnectionStringBuilder(connectionString) { ApplicationName = applicationName }.ConnectionString;
    }

    /// <summary>
    /// <paramref name="connectionString"/> with EventSourcing's defaults for what it does not set itself: a connect
    /// <c>Timeout</c> of <see cref="ConnectTimeoutSeconds"/>; Npgsql's automatic statement preparation
    /// (<c>Max Auto Prepare=50</c>, <c>Auto Prepare Min Usages=2</c>); and no session reset when a connection goes back to
    /// the pool (<c>No Reset On Close=true</c>).
    /// <para>
    /// Every command runs the same few statements (read a stream, append, idempotency and key look-ups); prepared,
    /// PostgreSQL no longer parses and plans them each time, which roughly halves the database's CPU per command
    /// (docs/benchmarks.md). Set <c>Max Auto Prepare=0</c> to turn it off, e.g. behind a connection pooler that cannot
    /// keep prepared statements.
    /// </para>
    /// <para>
    /// Npgsql otherwise clears the session of every connection taken from the pool (<c>RESET ALL</c>, <c>UNLISTEN *</c>,
    /// <c>pg_advisory_unlock_all()</c>, <c>DISCARD TEMP</c>...), a statement and a transaction more on the server for
    /// every use of a pooled connection: about 40% of the statements of a placement in the sample. The library leaves
    /// nothing on a session it gives back (its advisory locks, LISTENs and settings are cleared first, and a connection
    /// that cannot be cleared never serves again); docs/marten.md says what else could, and when to set
    /// <c>No Reset On Close=false</c>.
    /// </para>
    /// </summary>
    public static string WithConnectionDefaults(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString }.Keys.Cast<string>()
            .Select(key => key.Replace(" ", string.Empty, StringComparison.Ordinal))
            .ToHashSet(StringComparer.OrdinalIgnoreCase);
        if (given.Contains("Timeout") && given.Contains("MaxAutoPrepare") && given.Contains("NoResetOnClose"))
        {
            return connectionString;
        }

        var tuned = new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
        if (!given.Contains("Timeout"))
        {
            tuned.Timeout = ConnectTimeoutSeconds;
        }

        if (!given.Contains("MaxAutoPrepare"))
        {
            tuned.MaxAutoPrepare = 50;
            tuned.AutoPrepareMinUsages = 2;
        }

        if (!given.Contains("NoResetOnClose"))
        {
            tuned.NoResetOnClose = true;
        }

        return tuned.ConnectionString;
    }
}
