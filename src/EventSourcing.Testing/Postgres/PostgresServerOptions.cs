namespace EventSourcing.Testing.Postgres;

/// <summary>How <see cref="PostgresServer.StartAsync"/> finds or starts a PostgreSQL server.</summary>
public sealed class PostgresServerOptions
{
    /// <summary>
    /// The environment variable that may hold the connection string of a server to use as it is
    /// (never stopped). Defaults to <see cref="PostgresServer.ConnectionStringVariable"/>.
    /// </summary>
    public string ConnectionStringVariable { get; init; } = PostgresServer.ConnectionStringVariable;

    /// <summary>
    /// The folder holding <c>initdb</c> and <c>pg_ctl</c>. When <see langword="null"/> (the default) it is
    /// taken from the <c>PG_BIN</c> environment variable, else the highest <c>/usr/lib/postgresql/*/bin</c>,
    /// else <c>pg_config --bindir</c>, else the PATH.
    /// </summary>
    public string? BinDirectory { get; init; }

    /// <summary>How long to wait for the server to accept connections. Defaults to one minute.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>The <c>max_connections</c> of a server this library starts. Defaults to 300.</summary>
    public int MaxConnections { get; init; } = 300;

    /// <summary>
    /// Whether to fall back to a Docker container (Testcontainers) when no PostgreSQL binaries are
    /// installed. Defaults to <see langword="true"/>.
    /// </summary>
    public bool UseDocker { get; init; } = true;

    /// <summary>
    /// Whether the test will stop the server and start it again (<see cref="PostgresServer.StopAsync"/>,
    /// <see cref="PostgresServer.StartAgainAsync"/>): then the server is always a throwaway local cluster from the
    /// installed binaries, never the external server of <see cref="ConnectionStringVariable"/> (others use it) nor a
    /// container (its port changes on a restart). Its commits wait for their write-ahead log to be written
    /// (<c>synchronous_commit=on</c>, off otherwise for speed), so even an immediate stop loses no committed transaction;
    /// <c>fsync</c> stays off, which only an operating-system crash could tell. Defaults to <see langword="false"/>.
    /// </summary>
    public bool Restartable { get; init; }

    /// <summary>The image of that container. Defaults to <c>postgres:17-alpine</c>.</summary>
    public string DockerImage { get; init; } = "postgres:17-alpine";
}
