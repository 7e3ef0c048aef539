using System.Runtime.CompilerServices;
using EventSourcing.Marten.Storage;
using EventSourcing.Privacy;
using JasperFx;
using Marten;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Weasel.Core;
using Weasel.Core.Migrations;
using Weasel.Postgresql;
using Weasel.Postgresql.Tables;

namespace EventSourcing.Marten.Privacy;

/// <summary>
/// Data keys in PostgreSQL, in the table <c>es_subject_keys</c>: one row per subject, holding its wrapped key, or a
/// tombstone once it is forgotten (the key's bytes gone from the row, the time of the forget kept). Creating a key and
/// forgetting work on that one row (an insert that yields to an existing row, an upsert that empties it), so the
/// primary key orders them: a key created concurrently with a forget is emptied by it or never created. Every forget
/// notifies the other processes in its own transaction (<see cref="IForgetNotifications"/>), so they drop the key from
/// their caches within <see cref="PersonalDataOptions.ForgetPropagation"/>. The table lives in the event store's
/// database, or in a database of its own (see docs/privacy.md on backups).
/// </summary>
public sealed partial class PostgresKeyStore : WrappingKeyStore, IForgetNotifications, IAsyncDisposable
{
    /// <summary>The table's name.</summary>
    public const string TableName = "es_subject_keys";

    private readonly Func<NpgsqlConnection> _connect;
    private readonly Func<CancellationToken, Task> _ensureSchema;
    private readonly string? _missingSchema;
    private readonly ForgetListener _listener;
    private readonly ILogger _logger;
    private readonly string _table;

    /// <summary>Keeps the keys in the database of <paramref name="store"/>, in its schema, created and migrated with everything else.</summary>
    public PostgresKeyStore(IDocumentStore store, MasterKey masterKey, PersonalDataOptions? options = null, ILogger? logger = null, TimeProvider? timeProvider = null)
        : this(
            SessionConnections.Of(store ?? throw new ArgumentNullException(nameof(store))),
            store.Options.DatabaseSchemaName,
            cancellationToken => MartenSchema.For(store).EnsureAsync(NullLogger.Instance, cancellationToken),
            missingSchema: null, // part of the event store's schema: its error says how to apply that
            masterKey,
            options,
            logger,
            timeProvider)
    {
    }

    /// <summary>
    /// Keeps the keys in the database of <paramref name="dataSource"/> (for example one of their own, so that the events'
    /// backups never hold keys), in <paramref name="schemaName"/>. With <paramref name="createSchema"/> the table is
    /// created or brought up to date before the first operation (<c>UseKeyDatabase</c> does it when the host starts);
    /// otherwise apply it ahead of time with <see cref="ApplySchemaAsync"/>, and until then every operation fails with an
    /// error that says so.
    /// </summary>
    public PostgresKeyStore(NpgsqlDataSource dataSource, string schemaName, MasterKey masterKey, bool createSchema, PersonalDataOptions? options = null, ILogger? logger = null, TimeProvider? timeProvider = null)
        : this(
            SessionConnections.Of(dataSource ?? throw new ArgumentNullException(nameof(dataSource))),
            schemaName,
            createSchema ? null : _ => Task.CompletedTask,
            $"The personal-data key table {schemaName}.{TableName} is missing or out of date in the key database ({{0}}). " +
                "Apply it ahead of time with PostgresKeyStore.ApplySchemaAsync (see docs/marten.md and docs/privacy.md), " +
                "or let it be created at run time (AutoCreateSchemaObjects other than None).",
            masterKey,
            options,
            logger,
            timeProvider)
    {
    }

    private PostgresKeyStore(SessionConnections connections, string schemaName, Func<CancellationToken, Task>? ensureSchema, string? missingSchema, MasterKey masterKey, PersonalDataOptions? options, ILogger? logger, TimeProvider? timeProvider)
        : base(masterKey, (options ?? new PersonalDataOptions()).AllowNewKeyAfterForget)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(schemaName);
        _connect = connections.Create;
        SchemaName = schemaName;
        _table = $"{schemaName}.{TableName}";
        _ensureSchema = ensureSchema ?? Once(ApplySchemaAsync);
        _missingSchema = missingSchema;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _listener = new ForgetListener(connections, (options ?? new PersonalDataOptions()).ForgetPropagation, timeProvider ?? TimeProvider.System, _logger);
    }

    /// <summary>The schema of the key table.</summary>
    public string SchemaName { get; }

    /// <inheritdoc />
    public TimeSpan PropagationBound => _listener.Bound;

    /// <inheritdoc />
    public long? DeliveredBefore => _listener.DeliveredBefore;

    /// <inheritdoc />
    public IDisposable Subscribe(Action<string?> forgotten) => _listener.Subscribe(forgotten);

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _listener.DisposeAsync();

    /// <summary>Creates or updates the key table now if this store creates it at run time (what its first operation would do).</summary>
    internal Task EnsureSchemaAsync(CancellationToken cancellationToken) => _ensureSchema(cancellationToken);

    /// <inheritdoc />
    public override Task<bool> DeleteAsync(string subjectId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(subjectId);
        return MartenErrors.GuardAsync(async cancellationToken =>
        {
            var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var disposeConnection = connection.ConfigureAwait(false);
            // One statement: the tombstone and the notification commit together (notifications are sent on commit).
            var command = Command(connection, $"""
                with prior as (select wrapped is not null as had_key from {_table} where subject_id = @subject),
                forget as (
                  insert into {_table} as k (subject_id, wrapped, master_key_id, forgotten_at) values (@subject, null, null, now())
                  on conflict (subject_id) do update set wrapped = null, master_key_id = null, forgotten_at = coalesce(k.forgotten_at, excluded.forgotten_at)
                  returning 1)
                select coalesce((select had_key from prior), false), (select count(*) from forget), pg_notify('{ForgetListener.Channel}', @subject)
                """, subjectId);
            await using var disposeCommand = command.ConfigureAwait(false);
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using var disposeReader = reader.ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            return await reader.GetFieldValueAsync<bool>(0, cancellationToken).ConfigureAwait(false);
        }, cancellationToken, _missingSchema);
    }

    /// <inheritdoc />
    protected override Task<StoredKey?> ReadAsync(string subjectId, CancellationToken cancellationToken) => MartenErrors.GuardAsync(async cancellationToken =>
    {
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var disposeConnection = connection.ConfigureAwait(false);
        var command = Command(connection, $"select wrapped, master_key_id from {_table} where subject_id = @subject", subjectId);
        await using var disposeCommand = command.ConfigureAwait(false);
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var disposeReader = reader.ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? Row(reader) : null;
    }, cancellationToken, _missingSchema);

    /// <inheritdoc />
    protected override StoredKey? Read(string subjectId)
    {
        using var connection = Open();
        using var command = Command(connection, $"select wrapped, master_key_id from {_table} where subject_id = @subject", subjectId);
        using var reader = command.ExecuteReader();
        return reader.Read() ? Row(reader) : null;
    }

    /// <inheritdoc />
    protected override async Task<StoredKey> InsertIfAbsentAsync(string subjectId, WrappedKey key, CancellationToken cancellationToken)
    {
        var inserted = await MartenErrors.GuardAsync(async cancellationToken =>
        {
            var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var disposeConnection = connection.ConfigureAwait(false);
            var insert = InsertCommand(connection, subjectId, key);
            await using var disposeInsert = insert.ConfigureAwait(false);
            var reader = await insert.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using var disposeReader = reader.ConfigureAwait(false);
            return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? Row(reader) : null;
        }, cancellationToken, _missingSchema).ConfigureAwait(false);

        // Written by this insert: it is the row that won. Otherwise another one won, read by a statement of its own, which
        // sees that row committed even when this insert waited for it.
        return inserted
            ?? await ReadAsync(subjectId, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"The key of subject '{subjectId}' vanished while it was created.");
    }

    /// <inheritdoc />
    protected override StoredKey InsertIfAbsent(string subjectId, WrappedKey key)
    {
        using (var connection = Open())
        using (var insert = InsertCommand(connection, subjectId, key))
        using (var reader = insert.ExecuteReader())
        {
            if (reader.Read())
            {
                return Row(reader);
            }
        }

        return Read(subjectId) ?? throw new InvalidOperationException($"The key of subject '{subjectId}' vanished while it was created.");
    }

    /// <inheritdoc />
    protected override async IAsyncEnumerable<(string SubjectId, WrappedKey Key)> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var all = await MartenErrors.GuardAsync(async cancellationToken =>
        {
            var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var disposeConnection = connection.ConfigureAwait(false);
            var command = new NpgsqlCommand($"select subject_id, wrapped, master_key_id from {_table} where wrapped is not null order by subject_id", connection);
            await using var disposeCommand = command.ConfigureAwait(false);
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using var disposeReader = reader.ConfigureAwait(false);
            var rows = new List<(string, WrappedKey)>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                rows.Add((await reader.GetFieldValueAsync<string>(0, cancellationToken).ConfigureAwait(false),
                    new WrappedKey(await reader.GetFieldValueAsync<byte[]>(1, cancellationToken).ConfigureAwait(false), await reader.GetFieldValueAsync<string>(2, cancellationToken).ConfigureAwait(false))));
            }

            return rows;
        }, cancellationToken, _missingSchema).ConfigureAwait(false);
        foreach (var row in all)
        {
            yield return row;
        }
    }

    /// <inheritdoc />
    protected override Task UpdateAsync(string subjectId, WrappedKey key, CancellationToken cancellationToken) => MartenErrors.GuardAsync(async cancellationToken =>
    {
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var disposeConnection = connection.ConfigureAwait(false);
        var command = Command(connection, $"update {_table} set wrapped = @wrapped, master_key_id = @master where subject_id = @subject and wrapped is not null", subjectId);
        await using var disposeCommand = command.ConfigureAwait(false);
        command.Parameters.AddWithValue("wrapped", key.Wrapped);
        command.Parameters.AddWithValue("master", key.MasterKeyId);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }, cancellationToken, _missingSchema);

    private static StoredKey Row(NpgsqlDataReader reader) =>
#pragma warning disable VSTHRD103 // the row is read whole: no I/O
        reader.IsDBNull(0) ? StoredKey.Forgotten : new StoredKey(new WrappedKey(reader.GetFieldValue<byte[]>(0), reader.GetString(1)));
#pragma warning restore VSTHRD103

    private NpgsqlCommand InsertCommand(NpgsqlConnection connection, string subjectId, WrappedKey key)
    {
        // A tombstone stays unless a new key may replace it; either way the row that is there wins. The row comes back
        // only when this statement wrote it.
        var onConflict = AllowNewKeyAfterForget
            ? "update set wrapped = excluded.wrapped, master_key_id = excluded.master_key_id, created_at = excluded.created_at where k.wrapped is null"
            : "nothing";
        var command = Command(connection, $"insert into {_table} as k (subject_id, wrapped, master_key_id) values (@subject, @wrapped, @master) on conflict (subject_id) do {onConflict} returning k.wrapped, k.master_key_id", subjectId);
        command.Parameters.AddWithValue("wrapped", key.Wrapped);
        command.Parameters.AddWithValue("master", key.MasterKeyId);
        return command;
    }

    private static NpgsqlCommand Command(NpgsqlConnection connection, string sql, string subjectId)
    {
        var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("subject", subjectId);
        return command;
    }

    private async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        await _ensureSchema(cancellationToken).ConfigureAwait(false);
        var connection = _connect();
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private NpgsqlConnection Open()
    {
        var connection = _connect();
        connection.Open();
        return connection;
    }
}
