using System.Security.Cryptography;
using Npgsql;

namespace EventSourcing.Benchmarks.Harness;

/// <summary>How far the sample has come: reservations decided by its reactor, the head of the log, and the checkpoints of the reactor and of its two views.</summary>
public sealed record SampleProgress(long Decided, long Head, long Reactor, long Views)
{
    /// <summary>At least <paramref name="decided"/> reservations decided, and the reactor and both views at the head of the log.</summary>
    public bool CaughtUp(long decided) => Decided >= decided && Reactor == Head && Views == Head;
}

/// <summary>
/// Watches the sample's database, read-only, under a login role of its own (<c>pg_read_all_data</c>), so that
/// <c>pg_stat_statements</c> tells its statements from the sample's. Every look is one statement, in a transaction of its
/// own, on one connection kept open (so its transactions are its statements); closing it makes the server report them.
/// It reads the sample's tables as the sample keeps them with Marten: the events, and the checkpoint documents.
/// </summary>
internal sealed class SampleObserver : IAsyncDisposable
{
    private const string ReactorCheckpoint = "reactor:reservation-confirmation/1";
    private static readonly string[] ViewCheckpoints = ["reservation-details/1", "day-availability/1"];
    private static readonly string[] Decisions = ["reservation-confirmed.v1", "reservation-rejected.v1"];

    private readonly string _admin;
    private readonly string _database;
    private readonly string _observer;
    private NpgsqlConnection? _connection;

    private SampleObserver(string admin, string database, string role, string observer)
    {
        _admin = admin;
        _database = database;
        _observer = observer;
        Role = role;
    }

    /// <summary>The observer's role: what to leave out of the sample's counts.</summary>
    public string Role { get; }

    /// <summary>Creates the observer's role on the server of <paramref name="databaseConnectionString"/> (dropped on dispose).</summary>
    public static async Task<SampleObserver> CreateAsync(string adminConnectionString, string databaseConnectionString, CancellationToken cancellationToken)
    {
        var role = $"es_bench_observer_{Guid.NewGuid():N}"[..34];
        var password = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        await ExecuteAsync(adminConnectionString, $"create role {role} login password '{password}'; grant pg_read_all_data to {role}", cancellationToken).ConfigureAwait(false);
        var observer = new NpgsqlConnectionStringBuilder(databaseConnectionString) { Username = role, Password = password, Pooling = false }.ConnectionString;
        return new SampleObserver(adminConnectionString, databaseConnectionString, role, observer);
    }

    /// <summary>How many looks (statements) the observer has made.</summary>
    public long Looks { get; private set; }

    /// <summary>Where the sample stands now: one statement.</summary>
    public async Task<SampleProgress> ReadAsync(CancellationToken cancellationToken)
    {
        Looks++;
        if (_connection is null)
        {
            _connection = new NpgsqlConnection(_observer);
            await _connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        }

        var command = new NpgsqlCommand(
            """
            select
              (select count(*) from mt_events where type = any(@decisions)),
              (select coalesce(max(seq_id), 0) from mt_events),
              coalesce((select (data ->> 'position')::bigint from mt_doc_generationcheckpoint where id = @reactor), 0),
              coalesce((select min((data ->> 'position')::bigint) from mt_doc_generationcheckpoint where id = any(@views) having count(*) = cardinality(@views)), 0)
            """,
            _connection);
        await using (command.ConfigureAwait(false))
        {
            command.Parameters.AddWithValue("decisions", Decisions);
            command.Parameters.AddWithValue("reactor", ReactorCheckpoint);
            command.Parameters.AddWithValue("views", ViewCheckpoints);
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                return new SampleProgress(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
            }
        }
    }

    /// <summary>Looks every <paramref name="interval"/> until <paramref name="decided"/> reservations are decided and the reactor and views are at the head.</summary>
    public async Task<SampleProgress> WaitUntilCaughtUpAsync(long decided, TimeSpan interval, TimeSpan timeout, CancellationToken cancellationToken)
    {
        SampleProgress? last = null;
        try
        {
            await Poll.UntilAsync(
                async token => (last = await ReadAsync(token).ConfigureAwait(false)).CaughtUp(decided),
                interval,
                timeout,
                $"{decided:N0} reservations decided and the reactor and views at the head of the log",
                cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException exception)
        {
            throw new TimeoutException($"{exception.Message} Last seen: {last}.", exception);
        }

        return last!;
    }

    /// <summary>Closes the observer's connection: its server process ends and reports its transactions.</summary>
    public async Task CloseAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync().ConfigureAwait(false);
            _connection = null;
        }
    }

    /// <summary>
    /// Holds the reactor back until the returned hold is disposed: a transaction (as the administrator) locks the row of
    /// its checkpoint, so the reactor handles the event it is at and then waits to write its checkpoint.
    /// </summary>
    public async Task<IAsyncDisposable> HoldReactorAsync(CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(_database) { Pooling = false }.ConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            var command = new NpgsqlCommand("select id from mt_doc_generationcheckpoint where id = @reactor for update", connection, transaction);
            await using (command.ConfigureAwait(false))
            {
                command.Parameters.AddWithValue("reactor", ReactorCheckpoint);
                _ = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false)
                    ?? throw new InvalidOperationException($"The reactor has no checkpoint ({ReactorCheckpoint}) to hold it back by: let it handle an event first.");
            }

            return new Hold(connection, transaction);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await CloseAsync().ConfigureAwait(false);
        await ExecuteAsync(_admin, $"drop role if exists {Role}", CancellationToken.None).ConfigureAwait(false);
    }

    private static async Task ExecuteAsync(string connectionString, string sql, CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(connectionString);
        await using (connection.ConfigureAwait(false))
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            var command = new NpgsqlCommand(sql, connection);
            await using (command.ConfigureAwait(false))
            {
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private sealed class Hold(NpgsqlConnection connection, NpgsqlTransaction transaction) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await transaction.CommitAsync().ConfigureAwait(false);
            await transaction.DisposeAsync().ConfigureAwait(false);
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }
}
