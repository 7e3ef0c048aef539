using System.Globalization;
using Npgsql;

namespace Reservations.Tests.Faults;

/// <summary>
/// The sample's sessions as PostgreSQL sees them, for what a stopped process leaves behind: transactions left open
/// (their row locks held), and the sessions waiting on them; and which sessions are a given process's (by the client
/// ports of its sockets, found in <c>/proc</c>: Linux only).
/// </summary>
public sealed class Backends(string connectionString)
{
    private readonly int _serverPort = new NpgsqlConnectionStringBuilder(connectionString).Port;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The sessions of the process <paramref name="processId"/> (its connections to the server, pooled or not) in this database.</summary>
    public async Task<IReadOnlyList<Backend>> OfProcessAsync(int processId)
    {
        const string Sql = """
            select pid, coalesce(state, ''), application_name, client_port, left(query, 100) from pg_stat_activity
            where datname = current_database() and client_port = any(@ports)
            """;
        var ports = ClientPorts(processId);
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(Sql, connection) { Parameters = { new("ports", ports.ToArray()) } };
        await using var reader = await command.ExecuteReaderAsync(Ct);
        var backends = new List<Backend>();
        while (await reader.ReadAsync(Ct))
        {
            backends.Add(new Backend(reader.GetInt32(0), reader.GetString(1), reader.GetString(2), reader.GetInt32(3), reader.GetString(4)));
        }

        return backends;
    }

    /// <summary>The database's backends that have sat in an open transaction for a second or more (a stopped process's writes hold their row locks), described.</summary>
    public Task<IReadOnlyList<string>> IdleInTransactionAsync() => DescribeAsync("""
        select format('backend %s (%s, client port %s) idle in transaction for %s s after: %s', pid, application_name, client_port,
                      round(extract(epoch from now() - state_change)::numeric, 1), left(query, 120))
        from pg_stat_activity
        where datname = current_database() and state like 'idle in transaction%' and now() - state_change >= interval '1 second'
        """);

    /// <summary>
    /// The checkpoints (of projections and reactors) whose rows an open transaction holds locked: a checkpoint another
    /// process cannot commit until that transaction ends. Found by locking every row that is free for a moment (then
    /// letting go), so only for diagnostics.
    /// </summary>
    public Task<IReadOnlyList<string>> LockedCheckpointsAsync() => DescribeAsync("""
        with free as (select id from mt_doc_generationcheckpoint for update skip locked)
        select id from mt_doc_generationcheckpoint where id not in (select id from free) order by id
        """);

    /// <summary>
    /// Locks the rows of the reactors' checkpoints (<c>select ... for update</c> in a transaction of its own) until the
    /// result is disposed: the process running the reactor then waits inside its next checkpoint commit, its transaction open.
    /// </summary>
    public async Task<HeldRows> HoldReactorCheckpointsAsync()
    {
        var connection = new NpgsqlConnection(connectionString);
        try
        {
            await connection.OpenAsync(Ct);
            var transaction = await connection.BeginTransactionAsync(Ct);
            await using var command = new NpgsqlCommand("select pg_backend_pid() from mt_doc_generationcheckpoint where id like 'reactor:%' for update", connection, transaction);
            await using var reader = await command.ExecuteReaderAsync(Ct);
            Assert.True(await reader.ReadAsync(Ct), "the reactor has no checkpoint yet");
            var holder = reader.GetInt32(0);
            await reader.DisposeAsync();
            return new HeldRows(holder, connection, transaction);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>The backends waiting on a lock <paramref name="holder"/> holds.</summary>
    public async Task<IReadOnlyList<int>> WaitingOnAsync(int holder)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand("select pid from pg_stat_activity where @holder = any(pg_blocking_pids(pid))", connection) { Parameters = { new("holder", holder) } };
        await using var reader = await command.ExecuteReaderAsync(Ct);
        var waiting = new List<int>();
        while (await reader.ReadAsync(Ct))
        {
            waiting.Add(reader.GetInt32(0));
        }

        return waiting;
    }

    /// <summary>The database's backends waiting on a lock, with the backends they wait for and what those were last doing, described.</summary>
    public Task<IReadOnlyList<string>> BlockedAsync() => DescribeAsync("""
        select format('backend %s waits %s s (%s) in: %s; blocked by %s', a.pid, round(extract(epoch from now() - a.query_start)::numeric, 1),
                      a.wait_event_type || ':' || a.wait_event, left(a.query, 100),
                      (select string_agg(format('backend %s (%s, client port %s, %s: %s)', b.pid, b.application_name, b.client_port, b.state, left(b.query, 100)), '; ')
                       from pg_stat_activity b where b.pid = any(pg_blocking_pids(a.pid))))
        from pg_stat_activity a
        where a.datname = current_database() and cardinality(pg_blocking_pids(a.pid)) > 0
        """);

    private async Task<IReadOnlyList<string>> DescribeAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync(Ct);
        var rows = new List<string>();
        while (await reader.ReadAsync(Ct))
        {
            rows.Add(reader.GetString(0));
        }

        return rows;
    }

    /// <summary>The local ports of the process's TCP connections to the server: its sockets' inodes (<c>/proc/&lt;pid&gt;/fd</c>) looked up in its TCP tables.</summary>
    private HashSet<int> ClientPorts(int processId)
    {
        var inodes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var descriptor in Directory.EnumerateFiles($"/proc/{processId}/fd"))
        {
            if (new FileInfo(descriptor).LinkTarget is { } target && target.StartsWith("socket:[", StringComparison.Ordinal))
            {
                inodes.Add(target["socket:[".Length..^1]);
            }
        }

        var ports = new HashSet<int>();
        foreach (var table in new[] { "tcp", "tcp6" })
        {
            foreach (var line in File.ReadLines($"/proc/{processId}/net/{table}").Skip(1))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length > 9 && Port(fields[2]) == _serverPort && inodes.Contains(fields[9]))
                {
                    ports.Add(Port(fields[1]));
                }
            }
        }

        return ports;
    }

    private static int Port(string address) => int.Parse(address[(address.LastIndexOf(':') + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
}

/// <summary>Rows locked by a transaction of the test's own (on backend <see cref="Holder"/>), rolled back when disposed.</summary>
public sealed class HeldRows(int holder, NpgsqlConnection connection, NpgsqlTransaction transaction) : IAsyncDisposable
{
    public int Holder { get; } = holder;

    public async ValueTask DisposeAsync()
    {
        await transaction.RollbackAsync(CancellationToken.None);
        await transaction.DisposeAsync();
        await connection.DisposeAsync();
    }
}

/// <summary>A session: its server process id, state (<c>idle</c>, <c>active</c>, <c>idle in transaction</c>...), name, client port and last statement.</summary>
public sealed record Backend(int Pid, string State, string ApplicationName, int ClientPort, string Query)
{
    public bool InTransaction => State.StartsWith("idle in transaction", StringComparison.Ordinal);

    public override string ToString() => $"backend {Pid} ({ApplicationName}, client port {ClientPort}) {State}: {Query}";
}
