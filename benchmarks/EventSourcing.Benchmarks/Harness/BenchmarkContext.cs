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

    private readonly SemaphoreSlim _serverLock = new(1, 1);
    private PostgresServer? _server;

    public bool Quick { get; } = quick;

    public IAnsiConsole Console { get; } = console;

    public string ResultsDirectory { get; } = resultsDirectory;

    /// <summary>A built <c>Reservations.dll</c> for the http scenario; null to build the sample.</summary>
    public string? SampleAssembly { get; init; }

    /// <summary>Picks the full or the quick size.</summary>
    public int Size(int full, int quickSize) => Quick ? quickSize : full;

    public void Log(string message) => Console.MarkupLineInterpolated($"[grey]{DateTime.Now:HH:mm:ss} {message}[/]");

    /// <summary>A fresh, empty database for one variant of a scenario.</summary>
    public async Task<string> CreateDatabaseAsync(string name, CancellationToken cancellationToken)
    {
        var server = await ServerAsync(cancellationToken).ConfigureAwait(false);
        var connectionString = await server.CreateDatabaseAsync(name, cancellationToken).ConfigureAwait(false);
        return new NpgsqlConnectionStringBuilder(connectionString) { MaxPoolSize = 100, CommandTimeout = 300 }.ConnectionString;
    }

    /// <summary>The machine, the runtime and the PostgreSQL settings that bear on the figures.</summary>
    public async Task<IDictionary<string, string>> DescribeAsync(bool withPostgres, CancellationToken cancellationToken)
    {
        var machine = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["cores"] = Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture),
            ["memory"] = $"{GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024 * 1024 * 1024.0):0.0} GiB",
            ["os"] = RuntimeInformation.OSDescription,
            ["runtime"] = RuntimeInformation.FrameworkDescription,
            ["cpu"] = CpuModel(),
        };
        if (withPostgres)
        {
            var server = await ServerAsync(cancellationToken).ConfigureAwait(false);
            machine["postgres.server"] = server.Kind.ToString();
            var connection = new NpgsqlConnection(server.ConnectionString);
            await using (connection.ConfigureAwait(false))
            {
                await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
                foreach (var setting in new[] { "server_version", "fsync", "synchronous_commit", "full_page_writes", "shared_buffers", "max_connections" })
                {
                    var command = new NpgsqlCommand($"show {setting}", connection);
                    await using (command.ConfigureAwait(false))
                    {
                        machine[$"postgres.{setting}"] = (string)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
                    }
                }
            }
        }

        return machine;
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync().ConfigureAwait(false);
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

    private static string CpuModel()
    {
        const string cpuInfo = "/proc/cpuinfo";
        var line = File.Exists(cpuInfo) ? File.ReadLines(cpuInfo).FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal)) : null;
        return line?.Split(':', 2)[1].Trim() ?? RuntimeInformation.ProcessArchitecture.ToString();
    }
}
