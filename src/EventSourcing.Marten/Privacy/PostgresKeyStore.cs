using System.Runtime.CompilerServices;
using EventSourcing.Privacy;
using EventSourcing.Marten.Storage;
using Marten;
using Npgsql;
using Weasel.Postgresql;
using Weasel.Postgresql.Tables;

namespace EventSourcing.Marten.Privacy;

/// <summary>
/// Data keys in PostgreSQL: <c>es_data_keys</c> (subject, wrapped key, master key name) and <c>es_forgotten_subjects</c>
/// (who was forgotten, when). Get-or-create is an insert that does nothing on conflict followed by a read, so concurrent
/// callers all get the one key that won. Deleting the row forgets the subject; after VACUUM nothing of it is left.
/// </summary>
public sealed class PostgresKeyStore : WrappingKeyStore
{
    private readonly IDocumentStore _store;
    private readonly string _keys;
    private readonly string _forgotten;

    /// <summary>Creates the store on the Marten database of <paramref name="store"/>.</summary>
    public PostgresKeyStore(IDocumentStore store, MasterKey masterKey, bool allowNewKeyAfterForget)
        : base(masterKey, allowNewKeyAfterForget)
    {
        _store = store ?? throw new ArgumentNullException(nameof(store));
        var schema = store.Options.DatabaseSchemaName;
        _keys = $"{schema}.es_data_keys";
        _forgotten = $"{schema}.es_forgotten_subjects";
    }

    /// <summary>Adds the key tables to Marten's schema, so they are created and migrated with everything else.</summary>
    public static void Configure(StoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var keys = new Table(new PostgresqlObjectName(options.DatabaseSchemaName, "es_data_keys", SchemaUtils.IdentifierUsage.General));
        keys.AddColumn<string>("subject_id").AsPrimaryKey();
        keys.AddColumn("wrapped", "bytea").NotNull();
        keys.AddColumn<string>("master_key_id").NotNull();
        keys.AddColumn("created_at", "timestamp with time zone").DefaultValueByExpression("now()");
        var forgotten = new Table(new PostgresqlObjectName(options.DatabaseSchemaName, "es_forgotten_subjects", SchemaUtils.IdentifierUsage.General));
        forgotten.AddColumn<string>("subject_id").AsPrimaryKey();
        forgotten.AddColumn("forgotten_at", "timestamp with time zone").DefaultValueByExpression("now()");
        options.Storage.ExtendedSchemaObjects.Add(keys);
        options.Storage.ExtendedSchemaObjects.Add(forgotten);
    }

    /// <inheritdoc />
    public override Task<bool> DeleteAsync(string subjectId, CancellationToken cancellationToken) => MartenErrors.GuardAsync(async () =>
    {
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var disposeConnection = connection.ConfigureAwait(false);
        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var disposeTransaction = transaction.ConfigureAwait(false);
        var deleted = await ExecuteAsync(connection, $"delete from {_keys} where subject_id = @subject", subjectId, cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, $"insert into {_forgotten} (subject_id) values (@subject) on conflict do nothing", subjectId, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return deleted > 0;
    }, cancellationToken);

    /// <inheritdoc />
    protected override async Task<WrappedKey?> ReadAsync(string subjectId, CancellationToken cancellationToken)
    {
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var disposeConnection = connection.ConfigureAwait(false);
        var command = Command(connection, $"select wrapped, master_key_id from {_keys} where subject_id = @subject", subjectId);
        await using var disposeCommand = command.ConfigureAwait(false);
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var disposeReader = reader.ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
            ? new WrappedKey(await reader.GetFieldValueAsync<byte[]>(0, cancellationToken).ConfigureAwait(false), await reader.GetFieldValueAsync<string>(1, cancellationToken).ConfigureAwait(false))
            : null;
    }

    /// <inheritdoc />
    protected override WrappedKey? Read(string subjectId)
    {
        using var connection = Open();
        using var command = Command(connection, $"select wrapped, master_key_id from {_keys} where subject_id = @subject", subjectId);
        using var reader = command.ExecuteReader();
        return reader.Read() ? new WrappedKey(reader.GetFieldValue<byte[]>(0), reader.GetString(1)) : null;
    }

    /// <inheritdoc />
    protected override async Task<WrappedKey> InsertIfAbsentAsync(string subjectId, WrappedKey key, CancellationToken cancellationToken)
    {
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var insert = InsertCommand(connection, subjectId, key);
            await using (insert.ConfigureAwait(false))
            {
                await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        return await ReadAsync(subjectId, cancellationToken).ConfigureAwait(false) ?? throw new InvalidOperationException($"The key of subject '{subjectId}' vanished while it was created.");
    }

    /// <inheritdoc />
    protected override WrappedKey InsertIfAbsent(string subjectId, WrappedKey key)
    {
        using (var connection = Open())
        using (var insert = InsertCommand(connection, subjectId, key))
        {
            insert.ExecuteNonQuery();
        }

        return Read(subjectId) ?? throw new InvalidOperationException($"The key of subject '{subjectId}' vanished while it was created.");
    }

    /// <inheritdoc />
    protected override async Task<bool> IsForgottenAsync(string subjectId, CancellationToken cancellationToken)
    {
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var disposeConnection = connection.ConfigureAwait(false);
        var command = Command(connection, $"select exists (select 1 from {_forgotten} where subject_id = @subject)", subjectId);
        await using var disposeCommand = command.ConfigureAwait(false);
        return (bool)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <inheritdoc />
    protected override bool IsForgotten(string subjectId)
    {
        using var connection = Open();
        using var command = Command(connection, $"select exists (select 1 from {_forgotten} where subject_id = @subject)", subjectId);
        return (bool)command.ExecuteScalar()!;
    }

    /// <inheritdoc />
    protected override async IAsyncEnumerable<(string SubjectId, WrappedKey Key)> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var disposeConnection = connection.ConfigureAwait(false);
        var command = new NpgsqlCommand($"select subject_id, wrapped, master_key_id from {_keys} order by subject_id", connection);
        await using var disposeCommand = command.ConfigureAwait(false);
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var disposeReader = reader.ConfigureAwait(false);
        var all = new List<(string, WrappedKey)>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            all.Add((await reader.GetFieldValueAsync<string>(0, cancellationToken).ConfigureAwait(false),
                new WrappedKey(await reader.GetFieldValueAsync<byte[]>(1, cancellationToken).ConfigureAwait(false), await reader.GetFieldValueAsync<string>(2, cancellationToken).ConfigureAwait(false))));
        }

        foreach (var item in all)
        {
            yield return item;
        }
    }

    /// <inheritdoc />
    protected override async Task UpdateAsync(string subjectId, WrappedKey key, CancellationToken cancellationToken)
    {
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var disposeConnection = connection.ConfigureAwait(false);
        var command = Command(connection, $"update {_keys} set wrapped = @wrapped, master_key_id = @master where subject_id = @subject", subjectId);
        await using var disposeCommand = command.ConfigureAwait(false);
        command.Parameters.AddWithValue("wrapped", key.Wrapped);
        command.Parameters.AddWithValue("master", key.MasterKeyId);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private NpgsqlCommand InsertCommand(NpgsqlConnection connection, string subjectId, WrappedKey key)
    {
        var command = Command(connection, $"insert into {_keys} (subject_id, wrapped, master_key_id) values (@subject, @wrapped, @master) on conflict (subject_id) do nothing", subjectId);
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

    private static async Task<int> ExecuteAsync(NpgsqlConnection connection, string sql, string subjectId, CancellationToken cancellationToken)
    {
        var command = Command(connection, sql, subjectId);
        await using var dispose = command.ConfigureAwait(false);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        await MartenSchema.For(_store).EnsureAsync(Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, cancellationToken).ConfigureAwait(false);
        var connection = _store.Storage.Database.CreateConnection();
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        return connection;
    }

    private NpgsqlConnection Open()
    {
        var connection = _store.Storage.Database.CreateConnection();
        connection.Open();
        return connection;
    }
}
