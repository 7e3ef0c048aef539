using System.Globalization;
using System.Runtime.InteropServices;
using EventSourcing.Testing.Postgres;
using Npgsql;
using Spectre.Console;

namespace EventSourcing.Benchmarks.Harness;

/// <summary>
/// What every scenario shares: the size mode, the console, where results go, and PostgreSQL — the server in
/// <c>--postgres</c> (or <see cref="ConnectionStringVariable"/>), otherwise a throwaway local cluster started on first use.
/// </summary>
public sealed class BenchmarkContext(bool quick, IAnsiConsole console, string resultsDirectory, string? postgres) : IAsyncDisposable
{
    /// <summary>The environment variable naming a PostgreSQL server to benchmark against.</summary>
    public const string ConnectionStringVariable = "EVENTSOURCING_BENCH_POSTGRES";

    /// <summary>The library that makes PostgreSQL count every statement it runs; it is loaded only when the server starts.</summary>
    public const string StatementStatistics = "pg_stat_statements";

    private readonly SemaphoreSlim _serverLock = new(1, 1);
    private PostgresServer? _server;
    private PostgresServer? _countingServer;

    public bool Quick { get; } = quick;

    public IAnsiConsole Console { get; } = console;

    public string ResultsDirectory { get; } = resultsDirectory;

    /// <summary>A built <c>Reservations.dll</c> for the http and roundtrips scenarios; null to build the sample.</summary>
    public string? SampleAssembly { get; init; }

    /// <summary>Picks the full or the quick size.</summary>
    public int Size(int full, int quickSize) => Quick ? quickSize : full;

    public void Log(string message) => Console.MarkupLineInterpolated($"[grey]{DateTime.Now:HH:mm:ss} {message}[/]");

    /// <summary>A fresh, empty database for one variant of a scenario.</summary>
    public async Task<string> CreateDatabaseAsync(string name, CancellationToken cancellationToken) =>
        await CreateDatabaseAsync(await ServerAsync(cancellationToken).ConfigureAwait(false), name, cancellationToken).ConfigureAwait(false);

    /// <summary>A fresh, empty database on <paramref name="server"/>, with the pool and timeout every scenario uses.</summary>
    public static async Task<string> CreateDatabaseAsync(PostgresServer server, string name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(server);
        var connectionString = await server.CreateDatabaseAsync(name, cancellationToken).ConfigureAwait(false);
        return new NpgsqlConnectionStringBuilder(connectionString) { MaxPoolSize = 100, CommandTimeout = 300 }.ConnectionString;
    }

    /// <summary>
    /// A server that counts statements (<see cref="StatementStatistics"/> in <c>shared_preload_libraries</c>): the run's
    /// server (<c>--postgres</c>) when it loads that library, otherwise a throwaway local cluster started with it, kept
    /// until the run ends. The other scenarios keep a server without it, so its bookkeeping does not weigh on their figures.
    /// </summary>
    public async Task<PostgresServer> CountingServerAsync(CancellationToken cancellationToken)
    {
        if (!string.IsNullOrWhiteSpace(postgres ?? Environment.GetEnvironmentVariable(ConnectionStringVariable)))
        {
            var server = await ServerAsync(cancellationToken).ConfigureAwait(false);
            if ((await SettingAsync(server, "shared_preload_libraries", cancellationToken).ConfigureAwait(false)).Contains(StatementStatistics, StringComparison.Ordinal))
            {
                return server;
            }

            Log($"the given server does not load {StatementStatistics}: starting a throwaway cluster that does...");
        }

        await _serverLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _countingServer ??= await PostgresServer.StartAsync(
                new PostgresServerOptions
                {
                    ConnectionStringVariable = ConnectionStringVariable,
                    Settings = new Dictionary<string, string>(StringComparer.Ordinal) { ["shared_preload_libraries"] = StatementStatistics },
                },
                cancellationToken).ConfigureAwait(false);
            return _countingServer;
        }
        finally
        {
            _serverLock.Release();
        }
    }

    /// <summary>The machine, the runtime and the PostgreSQL settings that bear on the figures.</summary>
    public async Task<IDictionary<string, string>> DescribeAsync(bool withPostgres, CancellationToken cancellationToken) =>
        await DescribeAsync(withPostgres ? await ServerAsync(cancellationToken).ConfigureAwait(false) : null, cancellationToken).ConfigureAwait(false);

    /// <summary>The machine, the runtime and the settings of <paramref name="server"/> (none when it is null).</summary>
    public static async Task<IDictionary<string, string>> DescribeAsync(PostgresServer? server, CancellationToken cancellationToken)
    {
        var machine = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["cores"] = Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture),
            ["memory"] = $"{GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024 * 1024 * 1024.0):0.0} GiB",
            ["os"] = RuntimeInformation.OSDescription,
            ["runtime"] = RuntimeInformation.FrameworkDescription,
            ["cpu"] = CpuModel(),
        };
        if (File.Exists("/proc/loadavg"))
        {
            machine["loadavg"] = string.Join(' ', (await File.ReadAllTextAsync("/proc/loadavg", cancellationToken).ConfigureAwait(false)).Split(' ').Take(3)); // other work on the machine as the scenario began
        }

        if (server is not null)
        {
            machine["postgres.server"] = server.Kind.ToString();
            foreach (var setting in new[] { "server_version", "fsync", "synchronous_commit", "full_page_writes", "shared_buffers", "max_connections", "shared_preload_libraries" })
            {
                var value = await SettingAsync(server, setting, cancellationToken).ConfigureAwait(false);
                if (value.Length > 0)
                {
                    machine[$"postgres.{setting}"] = value;
                }
            }
        }

        return machine;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var server in new[] { _server, _countingServer })
        {
            if (server is not null)
            {
                await server.DisposeAsync().ConfigureAwait(false);
            }
        }

        _serverLock.Dispose();
    }

    private async Task<PostgresServer> ServerAsync(CancellationToken cancellationToken)
    {
        await _serverLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_server is null)
            {
                if (!string.IsNullOrWhiteSpace(postgres))
                {
                    Environment.SetEnvironmentVariable(ConnectionStringVariable, postgres);
                }

                Log("starting PostgreSQL...");
                _server = await PostgresServer.StartAsync(new PostgresServerOptions { ConnectionStringVariable = ConnectionStringVariable }, cancellationToken).ConfigureAwait(false);
            }

            return _server;
        }
        finally
        {
            _serverLock.Release();
        }
    }

    private static async Task<string> SettingAsync(PostgresServer server, string setting, CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(server.ConnectionString);
        await using (connection.ConfigureAwait(false))
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            var command = new NpgsqlCommand($"show {setting}", connection);
            await using (command.ConfigureAwait(false))
            {
                return (string)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
            }
        }
    }

    private static string CpuModel()
    {
        const string cpuInfo = "/proc/cpuinfo";
        var line = File.Exists(cpuInfo) ? File.ReadLines(cpuInfo).FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal)) : null;
        return line?.Split(':', 2)[1].Trim() ?? RuntimeInformation.ProcessArchitecture.ToString();
    }
}
