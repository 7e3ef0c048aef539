using System.Globalization;
using DotNet.Testcontainers.Builders;
using EventSourcing.Testing.Processes;
using Npgsql;
using Testcontainers.PostgreSql;

namespace EventSourcing.Testing.Postgres;

public sealed partial class PostgresServer
{
    private static readonly TimeSpan RetryInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Finds or starts a PostgreSQL server, in this order: the connection string in the environment
    /// variable <see cref="PostgresServerOptions.ConnectionStringVariable"/> (used as it is, unless the server must be
    /// restartable or have <see cref="PostgresServerOptions.Settings"/>); a throwaway
    /// cluster from the installed binaries (<c>initdb</c> + <c>pg_ctl</c> in a temp folder, on a free port);
    /// a Docker container. Returns once the server accepts connections.
    /// </summary>
    /// <param name="options">Where to look and how long to wait; <see langword="null"/> for the defaults.</param>
    /// <param name="cancellationToken">Cancels the start; whatever was started is removed.</param>
    /// <returns>The running server; dispose it to stop it.</returns>
    /// <exception cref="InvalidOperationException">
    /// No server can be had (the message says what to install), or the server failed to start (the
    /// message holds the end of its log).
    /// </exception>
    /// <exception cref="TimeoutException">The server did not accept connections within the start timeout.</exception>
    /// <exception cref="ArgumentException">A setting in <see cref="PostgresServerOptions.Settings"/> is not allowed.</exception>
    public static async Task<PostgresServer> StartAsync(PostgresServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new PostgresServerOptions();
        _ = options.SettingPairs().ToList(); // a setting that is not allowed fails before anything starts

        // A restartable server, or one with settings of its own, is one this library starts: never the external server.
        var external = options.Restartable || options.Settings.Count > 0 ? null : Environment.GetEnvironmentVariable(options.ConnectionStringVariable);
        if (!string.IsNullOrWhiteSpace(external))
        {
            await WaitUntilReadyAsync(external, options.StartTimeout, () => $"Check the connection string in {options.ConnectionStringVariable}.", cancellationToken)
                .ConfigureAwait(false);
            return new PostgresServer(external, PostgresServerKind.External, owned: null);
        }

        var binDirectory = await PostgresBinaries.FindAsync(options.BinDirectory, cancellationToken).ConfigureAwait(false);
        if (binDirectory is not null)
        {
            return await StartLocalClusterAsync(binDirectory, options, cancellationToken).ConfigureAwait(false);
        }

        if (options.Restartable)
        {
            throw new InvalidOperationException(
                "A restartable PostgreSQL server for the tests is a local cluster, and needs the PostgreSQL server binaries: " +
                "install PostgreSQL (Debian/Ubuntu: `apt-get install postgresql`; initdb and pg_ctl are looked for in PG_BIN, " +
                "/usr/lib/postgresql/*/bin, `pg_config --bindir` and the PATH).");
        }

        var dockerProblem = "Docker was not tried (UseDocker is off).";
        if (options.UseDocker)
        {
            var (server, problem) = await TryStartContainerAsync(options, cancellationToken).ConfigureAwait(false);
            if (server is not null)
            {
                return server;
            }

            dockerProblem = problem;
        }

        throw new InvalidOperationException(
            "No PostgreSQL server for the tests. Install PostgreSQL (Debian/Ubuntu: `apt-get install postgresql`; initdb and " +
            "pg_ctl are looked for in PG_BIN, /usr/lib/postgresql/*/bin, `pg_config --bindir` and the PATH), or set " +
            $"{options.ConnectionStringVariable} to the connection string of a server to use (a superuser, or a role " +
            $"allowed to create databases), or start Docker.{Environment.NewLine}{dockerProblem}");
    }

    private static async Task<PostgresServer> StartLocalClusterAsync(string binDirectory, PostgresServerOptions options, CancellationToken cancellationToken)
    {
        var cluster = await LocalCluster.StartAsync(binDirectory, options, cancellationToken).ConfigureAwait(false);
        try
        {
            await WaitUntilReadyAsync(cluster.ConnectionString, options.StartTimeout, () => cluster.LogTail(), cancellationToken).ConfigureAwait(false);
            return new PostgresServer(cluster.ConnectionString, PostgresServerKind.LocalCluster, cluster);
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static async Task<(PostgresServer? Server, string Problem)> TryStartContainerAsync(PostgresServerOptions options, CancellationToken cancellationToken)
    {
        PostgreSqlContainer container;
        try
        {
            container = new PostgreSqlBuilder(options.DockerImage)
                .WithCommand(
                [
                    "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                    "-c", $"max_connections={options.MaxConnections.ToString(CultureInfo.InvariantCulture)}",
                    .. options.SettingPairs().SelectMany(pair => new[] { "-c", pair }),
                ])
                .Build();
        }
        catch (DockerUnavailableException exception)
        {
            return (null, $"Docker is not usable: {exception.Message}");
        }

        try
        {
            await container.StartAsync(cancellationToken).ConfigureAwait(false);
            var connectionString = container.GetConnectionString();
            await WaitUntilReadyAsync(connectionString, options.StartTimeout, () => $"Container {options.DockerImage}.", cancellationToken).ConfigureAwait(false);
            return (new PostgresServer(connectionString, PostgresServerKind.Container, container), string.Empty);
        }
        catch (DockerUnavailableException exception)
        {
            await container.DisposeAsync().ConfigureAwait(false);
            return (null, $"Docker is not usable: {exception.Message}");
        }
        catch
        {
            await container.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Opens connections until one answers a query, for at most <paramref name="timeout"/>. Errors that
    /// waiting cannot cure (a wrong password, a missing database) fail at once.
    /// </summary>
    private static Task WaitUntilReadyAsync(string connectionString, TimeSpan timeout, Func<string> diagnostics, CancellationToken cancellationToken)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false };
        builder.Timeout = Math.Clamp((int)timeout.TotalSeconds, 1, 15);
        var server = $"PostgreSQL at {builder.Host}:{builder.Port.ToString(CultureInfo.InvariantCulture)}";
        return ServerReadiness.WaitAsync(
            server,
            timeout,
            RetryInterval,
            AnswersAsync,
            static exception => exception is NpgsqlException,
            diagnostics,
            ended: null,
            cancellationToken);

        async Task<bool> AnswersAsync(CancellationToken deadline)
        {
            try
            {
                var connection = new NpgsqlConnection(builder.ConnectionString);
                await using (connection.ConfigureAwait(false))
                {
                    await connection.OpenAsync(deadline).ConfigureAwait(false);
                    var command = new NpgsqlCommand("select 1", connection);
                    await using (command.ConfigureAwait(false))
                    {
                        await command.ExecuteScalarAsync(deadline).ConfigureAwait(false);
                    }
                }

                return true;
            }
            catch (PostgresException exception) when (exception.SqlState != PostgresErrorCodes.CannotConnectNow)
            {
                throw new InvalidOperationException($"{server} refused the connection: {exception.Message}{Environment.NewLine}{diagnostics()}", exception);
            }
        }
    }
}
