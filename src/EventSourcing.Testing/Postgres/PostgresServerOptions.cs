using System.Text.RegularExpressions;

namespace EventSourcing.Testing.Postgres;

/// <summary>How <see cref="PostgresServer.StartAsync"/> finds or starts a PostgreSQL server.</summary>
public sealed partial class PostgresServerOptions
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

    /// <summary>
    /// Further server settings (<c>-c name=value</c>) for a server this library starts, after its own (so a setting
    /// given here wins), e.g. <c>shared_preload_libraries=pg_stat_statements</c>. The external server of
    /// <see cref="ConnectionStringVariable"/> cannot be given them, so with any setting here the server is always one this
    /// library starts: a local cluster, else a container. Names are letters, digits, underscores and dots; values must not
    /// hold a quote. Defaults to none.
    /// </summary>
    public IReadOnlyDictionary<string, string> Settings { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>The image of that container. Defaults to <c>postgres:17-alpine</c>.</summary>
    public string DockerImage { get; init; } = "postgres:17-alpine";

    /// <summary><see cref="Settings"/> as <c>name=value</c> pairs, each checked; <paramref name="quote"/> wraps the value (for a shell).</summary>
    internal IEnumerable<string> SettingPairs(string quote = "")
    {
        foreach (var (name, value) in Settings)
        {
            if (!SettingName().IsMatch(name) || value.IndexOfAny(['\'', '"', '\n', '\r']) >= 0)
            {
                throw new ArgumentException($"The server setting {name}={value} is not allowed: a name is letters, digits, underscores and dots; a value holds no quote or line break.");
            }

            yield return $"{name}={quote}{value}{quote}";
        }
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_.]*$")]
    private static partial Regex SettingName();
}
