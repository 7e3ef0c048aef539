using Marten;
using Npgsql;

namespace EventSourcing.Marten.Storage;

/// <summary>
/// Connections of one data source for work that leaves state on its session (an advisory lock, a LISTEN, a setting).
/// The pool does not clear a session when a connection goes back to it (<c>No Reset On Close</c>, the default of
/// <see cref="Hosting.MartenConventions.WithConnectionDefaults"/>), so such work either gives its pooled connection back
/// through <see cref="ReleaseAsync"/> (the state is cleared first, and a connection whose state cannot be cleared never
/// serves anyone again) or uses a connection outside the pool (<see cref="CreateUnpooled"/>). See docs/marten.md, "What
/// a pooled connection carries".
/// </summary>
internal sealed class SessionConnections
{
    private readonly Func<NpgsqlConnection> _create;
    private readonly NpgsqlDataSource? _dataSource;

    private SessionConnections(Func<NpgsqlConnection> create, NpgsqlDataSource? dataSource)
    {
        _create = create;
        _dataSource = dataSource;
    }

    /// <summary>The connections of <paramref name="store"/>'s database.</summary>
    public static SessionConnections Of(IDocumentStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        var database = store.Storage.Database;
        return new SessionConnections(database.CreateConnection, (database as Weasel.Postgresql.PostgresqlDatabase)?.DataSource);
    }

    /// <summary>The connections of <paramref name="dataSource"/>.</summary>
    public static SessionConnections Of(NpgsqlDataSource dataSource)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        return new SessionConnections(dataSource.CreateConnection, dataSource);
    }

    /// <summary>A new connection, not yet open.</summary>
    public NpgsqlConnection Create() => _create();

    /// <summary>
    /// A new connection, not yet open, to the same server with the same settings and credentials (the data source's
    /// password and TLS callbacks included) but outside the pool: closing it ends its session. For a connection held
    /// for as long as it works (a listener's), which would gain nothing from the pool and give it a session to clear.
    /// </summary>
    public NpgsqlConnection CreateUnpooled()
    {
        using var pooled = _create();
        var unpooled = new NpgsqlConnectionStringBuilder(pooled.ConnectionString) { Pooling = false, Multiplexing = false };
        return pooled.CloneWith(unpooled.ConnectionString);
    }

    /// <summary>
    /// Runs <paramref name="cleanup"/> on <paramref name="connection"/> when it is still open (a broken one has ended its
    /// session on the server, and its state with it), then gives it back to the pool. When the cleanup fails on an open
    /// connection, the pool is cleared first, so that the connection is closed when given back instead of serving again.
    /// Never throws for the cleanup.
    /// </summary>
    public async Task ReleaseAsync(NpgsqlConnection connection, string cleanup, Action<NpgsqlParameterCollection>? parameters = null, int timeoutSeconds = 5)
    {
        ArgumentNullException.ThrowIfNull(connection);
        try
        {
            if (connection.State == System.Data.ConnectionState.Open)
            {
                try
                {
                    var command = new NpgsqlCommand(cleanup, connection) { CommandTimeout = timeoutSeconds };
                    await using var disposeCommand = command.ConfigureAwait(false);
                    parameters?.Invoke(command.Parameters);
                    await command.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception) when (connection.State == System.Data.ConnectionState.Open)
                {
                    Discard(connection);
                }
                catch (Exception)
                {
                    // broken: the server ends its session, and the state with it
                }
            }
        }
        finally
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Keeps <paramref name="connection"/> (open, its state unknown) from serving again: the pool is cleared, which closes
    /// its idle connections at once and this one when it is given back. <see cref="NpgsqlConnection.ClearPool"/> alone
    /// would not do: it finds only the pools of connection strings, never a data source's.
    /// </summary>
    public void Discard(NpgsqlConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        if (_dataSource is not null)
        {
            _dataSource.Clear();
        }
        else
        {
            NpgsqlConnection.ClearPool(connection);
        }
    }
}
