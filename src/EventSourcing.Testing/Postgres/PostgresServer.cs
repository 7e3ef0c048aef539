using Npgsql;

namespace EventSourcing.Testing.Postgres;

/// <summary>
/// A PostgreSQL server for integration tests, independent of any test framework: the server named by
/// <see cref="ConnectionStringVariable"/> when that is set, otherwise a throwaway cluster from the
/// installed PostgreSQL binaries, otherwise a Docker container. Disposing it stops what it started and
/// removes what it created. Give each test class its own database with <see cref="CreateDatabaseAsync"/>.
/// </summary>
/// <example>
/// <code>
/// await using var server = await PostgresServer.StartAsync();
/// var connectionString = await server.CreateDatabaseAsync("orders");
/// </code>
/// </example>
public sealed partial class PostgresServer : IAsyncDisposable
{
    /// <summary>
    /// The environment variable that, when it holds a connection string, makes every
    /// <see cref="PostgresServer"/> use that server instead of starting one.
    /// </summary>
    public const string ConnectionStringVariable = "EVENTSOURCING_TEST_POSTGRES";

    private const int MaxIdentifierLength = 63;

    private readonly IAsyncDisposable? _owned;
    private readonly List<string> _createdDatabases = [];
    private readonly Lock _lock = new();
    private int _disposed;

    private PostgresServer(string connectionString, PostgresServerKind kind, IAsyncDisposable? owned)
    {
        ConnectionString = connectionString;
        Kind = kind;
        _owned = owned;
    }

    /// <summary>A connection string to the server's administrative database, as a superuser (or the given user).</summary>
    public string ConnectionString { get; }

    /// <summary>Where the server comes from.</summary>
    public PostgresServerKind Kind { get; }

    /// <summary>
    /// Creates an empty database with a unique name and returns a connection string to it, so that
    /// tests can isolate from each other.
    /// </summary>
    /// <param name="name">
    /// A prefix for the database name, to recognise it (letters, digits and underscores are kept); a
    /// unique suffix is always appended, so the database is fresh even on a shared server.
    /// </param>
    /// <param name="cancellationToken">Cancels the creation.</param>
    /// <returns>A connection string to the new database.</returns>
    public async Task<string> CreateDatabaseAsync(string? name = null, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) == 1, this);
        var database = UniqueDatabaseName(name);
        await ExecuteAsync($"CREATE DATABASE \"{database}\"", cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            _createdDatabases.Add(database);
        }

        return new NpgsqlConnectionStringBuilder(ConnectionString) { Database = database }.ConnectionString;
    }

    /// <summary>
    /// Stops the server, as an outage would, keeping its data and port for <see cref="StartAgainAsync"/>. Only for a
    /// server started with <see cref="PostgresServerOptions.Restartable"/>.
    /// </summary>
    /// <param name="mode">A clean fast shutdown, or an immediate one (as a crash).</param>
    /// <param name="cancellationToken">Cancels the wait for the server to stop.</param>
    /// <returns>A task that completes once the server has stopped and refuses connections.</returns>
    /// <exception cref="NotSupportedException">The server is external or a container.</exception>
    public Task StopAsync(PostgresStopMode mode = PostgresStopMode.Fast, CancellationToken cancellationToken = default) =>
        Cluster().StopAsync(mode, cancellationToken);

    /// <summary>Starts the server stopped by <see cref="StopAsync"/> again, with the same data, port and settings.</summary>
    /// <param name="cancellationToken">Cancels the wait for the server to accept connections.</param>
    /// <returns>A task that completes once the server accepts connections.</returns>
    /// <exception cref="NotSupportedException">The server is external or a container.</exception>
    /// <exception cref="InvalidOperationException">The server did not start (the message holds the end of its log).</exception>
    public async Task StartAgainAsync(CancellationToken cancellationToken = default)
    {
        var cluster = Cluster();
        await cluster.StartAgainAsync(cancellationToken).ConfigureAwait(false);
        await WaitUntilReadyAsync(ConnectionString, cluster.StartTimeout, () => cluster.LogTail(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Freezes the server (every server process stopped with <c>SIGSTOP</c>) until <see cref="ResumeAsync"/>: it still
    /// accepts connections, as the kernel does that, but answers nothing, as a hung server or a network that drops
    /// packets would. Only for a server started with <see cref="PostgresServerOptions.Restartable"/>, on Linux.
    /// </summary>
    /// <param name="cancellationToken">Cancels the wait for the signals to be sent.</param>
    /// <returns>A task that completes once the server is frozen.</returns>
    /// <exception cref="NotSupportedException">The server is external or a container.</exception>
    public Task PauseAsync(CancellationToken cancellationToken = default) => Cluster().SignalAsync("STOP", cancellationToken);

    /// <summary>Lets the server frozen by <see cref="PauseAsync"/> run again (<c>SIGCONT</c>).</summary>
    /// <param name="cancellationToken">Cancels the wait for the signals to be sent.</param>
    /// <returns>A task that completes once every server process runs again.</returns>
    /// <exception cref="NotSupportedException">The server is external or a container.</exception>
    public Task ResumeAsync(CancellationToken cancellationToken = default) => Cluster().SignalAsync("CONT", cancellationToken);

    /// <summary>
    /// Stops a server this instance started and deletes its files; on an external server, drops the
    /// databases created through <see cref="CreateDatabaseAsync"/>.
    /// </summary>
    /// <returns>A task that completes when everything is removed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        if (Kind == PostgresServerKind.External)
        {
            await DropCreatedDatabasesAsync().ConfigureAwait(false);
        }

        if (_owned is not null)
        {
            await _owned.DisposeAsync().ConfigureAwait(false);
        }
    }

    private LocalCluster Cluster()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) == 1, this);
        return _owned as LocalCluster ?? throw new NotSupportedException(
            $"Only a local cluster can be stopped and started again, not a server of kind {Kind}: start it with PostgresServerOptions.Restartable.");
    }

    private static string UniqueDatabaseName(string? name)
    {
        var suffix = Guid.NewGuid().ToString("N")[..16];
        var prefix = new string((name ?? "test")
            .Select(c => char.IsAsciiLetterOrDigit(c) ? char.ToLowerInvariant(c) : '_')
            .Take(MaxIdentifierLength - suffix.Length - 1)
            .ToArray());
        return $"{prefix}_{suffix}";
    }

    private async Task DropCreatedDatabasesAsync()
    {
        string[] databases;
        lock (_lock)
        {
            databases = [.. _createdDatabases];
        }

        foreach (var database in databases)
        {
            try
            {
                // FORCE (PostgreSQL 13+) ends the sessions still open on it, pooled ones included.
                await ExecuteAsync($"DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)", CancellationToken.None).ConfigureAwait(false);
            }
            catch (NpgsqlException exception)
            {
                await Console.Error.WriteLineAsync($"Could not drop the test database {database}: {exception.Message}").ConfigureAwait(false);
            }
        }
    }

    private async Task ExecuteAsync(string sql, CancellationToken cancellationToken)
    {
        var connectionString = new NpgsqlConnectionStringBuilder(ConnectionString) { Pooling = false }.ConnectionString;
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
}
