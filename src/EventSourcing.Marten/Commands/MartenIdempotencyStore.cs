using EventSourcing.Commands;
using EventSourcing.Marten.Storage;
using Marten;
using Microsoft.Extensions.Options;
using Npgsql;
using Weasel.Postgresql;
using Weasel.Postgresql.Tables;

namespace EventSourcing.Marten.Commands;

/// <summary>
/// Idempotency records in PostgreSQL (table <c>es_idempotency</c>), shared by every process on the database. A claim
/// holds a PostgreSQL advisory lock on the command id on a connection of its own, taken before the record is looked at
/// and kept until the claim is disposed: other claims of the id, from any process, wait for it, and a process that dies
/// lets go of it with its connection. The record (the payload's fingerprint) is committed before the command runs, so an
/// execution that dies after appending still binds the id to its payload. At most half the connection pool holds claims
/// at once, so the commands they wait for always find a connection.
/// </summary>
public sealed class MartenIdempotencyStore : IIdempotencyStore, IDisposable
{
    /// <summary>The table's name.</summary>
    public const string TableName = "es_idempotency";

    /// <summary>The first key of the two-key advisory locks of claims (the second is a hash of the command id).</summary>
    private const int LockSpace = 0x65734964; // "esId"

    private const int UnlockTimeoutSeconds = 5;

    private static readonly TimeSpan ReleaseWait = TimeSpan.FromSeconds(1);

    private readonly IDocumentStore _store;
    private readonly SessionConnections _connections;
    private readonly TimeSpan _retention;
    private readonly TimeProvider _timeProvider;
    private readonly string _table;
    private readonly SemaphoreSlim _claims;

    /// <summary>Creates the store on the database of <paramref name="store"/>.</summary>
    public MartenIdempotencyStore(IDocumentStore store, IOptions<IdempotencyOptions>? options = null, TimeProvider? timeProvider = null)
    {
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _connections = SessionConnections.Of(store);
        _retention = (options?.Value ?? new IdempotencyOptions()).Retention;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _table = $"{store.Options.DatabaseSchemaName}.{TableName}";
        using var probe = store.Storage.Database.CreateConnection();
        _claims = new SemaphoreSlim(Math.Max(1, new NpgsqlConnectionStringBuilder(probe.ConnectionString).MaxPoolSize / 2));
    }

    /// <summary>The record table as a schema object, for Marten's schema (created and migrated with it).</summary>
    public static Table Table(string schemaName)
    {
        var table = new Table(new PostgresqlObjectName(schemaName, TableName, SchemaUtils.IdentifierUsage.General));
        table.AddColumn<Guid>("command_id").AsPrimaryKey();
        table.AddColumn<string>("command_type").NotNull();
        table.AddColumn<string>("fingerprint").NotNull();
        table.AddColumn<string>("response").AllowNulls();
        table.AddColumn("created_at", "timestamp with time zone").NotNull();
        return table;
    }

    /// <summary>Adds the record table to Marten's schema.</summary>
    public static void Configure(StoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Storage.ExtendedSchemaObjects.Add(Table(options.DatabaseSchemaName));
    }

    /// <inheritdoc />
    public async Task<IdempotencyClaim> ClaimAsync(IdempotencyRecord request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        await _claims.WaitAsync(cancellationToken).ConfigureAwait(false);
        // Its own token, cancelled from the relay's thread: whoever cancels never waits for Npgsql's cancel request.
        var relayed = CancellationRelay.Relay(cancellationToken);
        var claiming = ClaimOnceAsync(request, relayed.Token); // lets go of the slot itself when it fails
        _ = claiming.ContinueWith(static (_, state) => ((IDisposable)state!).Dispose(), relayed, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        try
        {
#pragma warning disable VSTHRD003 // started just above, by this method
            return await MartenErrors.GuardAsync(() => claiming, cancellationToken).ConfigureAwait(false);
#pragma warning restore VSTHRD003
        }
        catch (OperationCanceledException)
        {
            // Given up while the claim was being taken (against a server that does not answer, or just as the lock was
            // granted: the claim may have completed since the wait was cancelled): a claim granted after all is let go of.
            _ = claiming.ContinueWith(static granted => granted.Result.DisposeAsync().AsTask(), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default).Unwrap();
            throw;
        }
    }

    /// <inheritdoc />
    public void Dispose() => _claims.Dispose();

    private async Task<IdempotencyClaim> ClaimOnceAsync(IdempotencyRecord request, CancellationToken cancellationToken)
    {
        NpgsqlConnection? connection = null;
        var lockKey = LockKey(request.CommandId);
        var mayHoldLock = false;
        try
        {
            await MartenSchema.For(_store).EnsureAsync(Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, cancellationToken).ConfigureAwait(false);
            connection = _connections.Create();
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            var batch = new NpgsqlBatch(connection)
            {
                BatchCommands =
                {
                    new NpgsqlBatchCommand("select pg_advisory_lock(@space, @key)") { Parameters = { new("space", LockSpace), new("key", lockKey) } },
                    // A statement of its own, so it reads after the lock is granted: what an earlier holder kept is committed.
                    // Past the retention the result goes, but the payload still binds the id: only the same one claims it anew.
                    new NpgsqlBatchCommand($"""
                        with claimed as (
                          insert into {_table} as r (command_id, command_type, fingerprint, response, created_at) values (@id, @type, @fingerprint, null, @now)
                          on conflict (command_id) do update
                            set command_type = excluded.command_type, fingerprint = excluded.fingerprint, response = null, created_at = excluded.created_at
                            where r.created_at < @expired and r.fingerprint = excluded.fingerprint
                          returning 1)
                        select (select count(*) from claimed) > 0, r.command_type, r.fingerprint, r.response, r.created_at
                        from (select 1) as one left join {_table} as r on r.command_id = @id
                        """)
                    {
                        Parameters =
                        {
                            new("id", request.CommandId), new("type", request.CommandType), new("fingerprint", request.Fingerprint),
                            new("now", request.CreatedAt), new("expired", _timeProvider.GetUtcNow() - _retention),
                        },
                    },
                },
            };
            await using (batch.ConfigureAwait(false))
            {
                mayHoldLock = true;
                var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await using (reader.ConfigureAwait(false))
                {
                    await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
                    await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                    var kept = await reader.GetFieldValueAsync<bool>(0, cancellationToken).ConfigureAwait(false)
                        ? null
                        : new IdempotencyRecord(
                            request.CommandId,
                            await reader.GetFieldValueAsync<string>(1, cancellationToken).ConfigureAwait(false),
                            await reader.GetFieldValueAsync<string>(2, cancellationToken).ConfigureAwait(false),
                            await reader.IsDBNullAsync(3, cancellationToken).ConfigureAwait(false) ? null : await reader.GetFieldValueAsync<string>(3, cancellationToken).ConfigureAwait(false),
                            await reader.GetFieldValueAsync<DateTimeOffset>(4, cancellationToken).ConfigureAwait(false));
                    return new Claim(this, connection, lockKey, request, kept);
                }
            }
        }
        catch
        {
            await ReleaseAsync(connection, lockKey, mayHoldLock).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Lets go of the lock (when it may be held), the connection and the slot. The pool does not clear sessions
    /// (<c>No Reset On Close</c>), so the lock is let go of before the connection goes back; a connection whose unlock
    /// fails is kept out of the pool, and a broken one ends its session on the server, and the lock with it.
    /// </summary>
    private async Task ReleaseAsync(NpgsqlConnection? connection, int lockKey, bool mayHoldLock)
    {
        try
        {
            if (connection is null)
            {
                return;
            }

            if (mayHoldLock)
            {
                await _connections.ReleaseAsync(
                    connection,
                    "select pg_advisory_unlock(@space, @key)",
                    parameters => parameters.AddRange(new[] { new NpgsqlParameter("space", LockSpace), new NpgsqlParameter("key", lockKey) }),
                    UnlockTimeoutSeconds).ConfigureAwait(false);
            }
            else
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            _claims.Release();
        }
    }

    private static int LockKey(Guid commandId)
    {
        Span<byte> bytes = stackalloc byte[16];
        commandId.TryWriteBytes(bytes);
        return BitConverter.ToInt32(bytes) ^ BitConverter.ToInt32(bytes[4..]) ^ BitConverter.ToInt32(bytes[8..]) ^ BitConverter.ToInt32(bytes[12..]);
    }

    private sealed class Claim(MartenIdempotencyStore owner, NpgsqlConnection connection, int lockKey, IdempotencyRecord request, IdempotencyRecord? kept) : IdempotencyClaim(kept)
    {
        private int _released;

        public override Task CompleteAsync(string response, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(response);
            return MartenErrors.GuardAsync(async cancellationToken =>
            {
                var update = new NpgsqlCommand($"update {owner._table} set response = @response where command_id = @id and fingerprint = @fingerprint", connection)
                {
                    Parameters = { new("response", response), new("id", request.CommandId), new("fingerprint", request.Fingerprint) },
                };
                await using var disposeUpdate = update.ConfigureAwait(false);
                await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }, cancellationToken);
        }

        public override async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _released, 1) != 0)
            {
                return;
            }

            var release = owner.ReleaseAsync(connection, lockKey, mayHoldLock: true);
            try
            {
                // Against a server that does not answer the unlock goes on in the background; the caller moves on.
                await release.WaitAsync(ReleaseWait).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                _ = release.ContinueWith(static done => done.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            }
        }
    }
}
