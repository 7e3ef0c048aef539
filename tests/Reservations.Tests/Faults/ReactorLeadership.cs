using System.Security.Cryptography;
using System.Text;
using Npgsql;
using Reservations.Domain;

namespace Reservations.Tests.Faults;

/// <summary>
/// Which process runs one of the sample's followers of the log (its reactor by default, or the forwarder), read from
/// PostgreSQL as the library elects it (PostgresLeaderElection): the session advisory lock <c>(0x65734c64, first 4 bytes
/// of SHA-256 of "reactor:&lt;name&gt;")</c>, held on a connection of its own whose <c>application_name</c> is
/// <c>es-leader &lt;node&gt;</c>. Computed here rather than asked of the library, so that a change to the election's keys
/// fails these tests instead of silently following it.
/// </summary>
public sealed class ReactorLeadership(string connectionString, string reactor = ConfirmationReactor.ReactorName)
{
    /// <summary>What the leader's connection is named after: <c>es-leader </c> and the node's name.</summary>
    public const string ApplicationPrefix = "es-leader ";

    private const int LockSpace = 0x65734c64;

    /// <summary>The lock's second key, as the election takes it (<c>int4</c>); <c>pg_locks</c> shows it as an unsigned <c>objid</c>.</summary>
    private readonly int _key = BitConverter.ToInt32(SHA256.HashData(Encoding.UTF8.GetBytes($"reactor:{reactor}")).AsSpan(0, 4));

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The backend holding the reactor's lock now, or null when no process runs the reactor.</summary>
    public async Task<LeaderLock?> HolderAsync()
    {
        const string Sql = """
            select a.pid, a.application_name, a.client_port from pg_locks l join pg_stat_activity a on a.pid = l.pid
            where l.locktype = 'advisory' and l.granted and l.classid = @space and l.objid = @key and l.objsubid = 2
              and l.database = (select oid from pg_database where datname = current_database())
            """;
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(Sql, connection) { Parameters = { new("space", LockSpace), new("key", (long)(uint)_key) } };
        await using var reader = await command.ExecuteReaderAsync(Ct);
        if (!await reader.ReadAsync(Ct))
        {
            return null;
        }

        var holder = new LeaderLock(reader.GetInt32(0), reader.GetString(1), reader.IsDBNull(2) ? 0 : reader.GetInt32(2));
        return await reader.ReadAsync(Ct) ? throw new InvalidOperationException("Two backends hold the reactor's lock.") : holder;
    }

    /// <summary>
    /// Takes the lock on a session of the test's own, named as a process <paramref name="node"/> leading it would be, and
    /// holds it until the result is disposed: meanwhile every process of the sample stands by, and the follower's work
    /// piles up; once it is let go, one of them takes over within its election interval (a second).
    /// </summary>
    public async Task<HeldLock> HoldAsync(string node)
    {
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString); // closing it ends the session
        try
        {
            await connection.OpenAsync(Ct);
            await using var command = new NpgsqlCommand("select pg_try_advisory_lock(@space, @key), set_config('application_name', @name, false)", connection)
            {
                Parameters = { new("space", LockSpace), new("key", _key), new("name", ApplicationPrefix + node) },
            };
            await using var reader = await command.ExecuteReaderAsync(Ct);
            Assert.True(await reader.ReadAsync(Ct) && reader.GetBoolean(0), $"the lock of {reactor} is taken already");
            return new HeldLock(connection);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Ends the backend holding the lock (<c>pg_terminate_backend</c>), as an operator or a network failure would; true when it was there.</summary>
    public async Task<bool> TerminateAsync(LeaderLock holder)
    {
        ArgumentNullException.ThrowIfNull(holder);
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand("select pg_terminate_backend(@pid)", connection) { Parameters = { new("pid", holder.Backend) } };
        return (bool)(await command.ExecuteScalarAsync(Ct))!;
    }
}

/// <summary>A reactor's lock held by the test (<see cref="ReactorLeadership.HoldAsync"/>), let go when disposed (once).</summary>
public sealed class HeldLock(NpgsqlConnection connection) : IAsyncDisposable
{
    private int _released;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            await connection.DisposeAsync(); // the session ends, and the lock with it
        }
    }
}

/// <summary>The backend holding a reactor's lock: its server process id, its connection's name and client port.</summary>
public sealed record LeaderLock(int Backend, string ApplicationName, int ClientPort)
{
    /// <summary>The name of the process holding it (its <c>EventSourcingBuilder.NodeName</c>).</summary>
    public string Node => ApplicationName.StartsWith(ReactorLeadership.ApplicationPrefix, StringComparison.Ordinal) ? ApplicationName[ReactorLeadership.ApplicationPrefix.Length..] : ApplicationName;
}
