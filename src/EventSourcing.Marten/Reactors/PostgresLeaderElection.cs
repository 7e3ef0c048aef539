using System.Security.Cryptography;
using System.Text;
using EventSourcing.Marten.Storage;
using EventSourcing.Reactors;
using Marten;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace EventSourcing.Marten.Reactors;

/// <summary>
/// Elects the process that runs each follower through PostgreSQL: a session advisory lock per follower, held on a
/// connection of the leadership's own, whose application name says which process holds it (so any process can tell
/// who runs a follower). A process that dies, or whose connection breaks, lets go of the lock with its session; the
/// others try every second (the reactor runner), so one of them takes over within about a second of the
/// server noticing. The holder looks at its connection every <see cref="KeepaliveInterval"/> and gives the leadership
/// up (<see cref="ILeadership.Lost"/>) when it is gone.
/// <para>
/// A holder that freezes (a long pause, a stopped VM) keeps its session, so the lock connection is given an
/// <c>idle_session_timeout</c> of <see cref="FrozenAfter"/>: a live holder touches it every second, a frozen one loses it,
/// and the lock with it. The new leader then fences it: on taking over from a process it saw leading (which has frozen,
/// died or lost its connection), it terminates that process's sessions, found by their application name, the node's
/// name (<c>UseMarten</c> names every connection after the node). What the frozen process left open (a transaction
/// committing a checkpoint or an append, whose row locks would stop the new leader; the lock by which it leads Marten's
/// projection daemon, which would stop the views) ends with them. When the frozen process wakes, its connections are
/// gone and it stops leading; anything it was doing that commits after all must be harmless in the domain (docs/reactors.md).
/// </para>
/// Chosen over Marten's daemon leadership, which elects projection shards only, and over DistributedLock.Postgres,
/// which owns its connections and cannot say which process holds a lock or fence a frozen one.
/// </summary>
internal sealed partial class PostgresLeaderElection : ILeaderElection
{
    /// <summary>How often the holder checks that its lock's connection is still there.</summary>
    internal static readonly TimeSpan KeepaliveInterval = TimeSpan.FromSeconds(1);

    /// <summary>How long the lock connection may sit idle before the server ends it: the holder has frozen.</summary>
    internal static readonly TimeSpan FrozenAfter = TimeSpan.FromSeconds(3);

    /// <summary>The first key of the two-key advisory locks of leadership (the second is a hash of the follower's name).</summary>
    private const int LockSpace = 0x65734c64; // "esLd"

    private const string ApplicationPrefix = "es-leader ";

    private readonly SessionConnections _connections;
    private readonly ILogger _logger;
    private readonly TimeProvider _timeProvider;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _lastLeaders = new(StringComparer.Ordinal);

    /// <summary>
    /// Creates the election for this process, named <paramref name="node"/> when the application named it, otherwise
    /// after its connections' Application Name, or <paramref name="fallbackNode"/> when they have none.
    /// </summary>
    public PostgresLeaderElection(IDocumentStore store, string? node, string fallbackNode, ILogger logger, TimeProvider timeProvider)
    {
        _connections = SessionConnections.Of(store);
        _logger = logger;
        _timeProvider = timeProvider;
        using var probe = store.Storage.Database.CreateConnection();
        Node = node ?? (new NpgsqlConnectionStringBuilder(probe.ConnectionString).ApplicationName is { Length: > 0 } application ? application : fallbackNode);
    }

    public string Node { get; }

    public async Task<ILeadership?> TryAcquireAsync(string follower, CancellationToken cancellationToken = default)
    {
        var connection = _connections.Create();
        var mayHold = false;
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            // The connection is named after this process only when it holds the lock: that is how others find the leader.
            var command = new NpgsqlCommand(
                "select case when pg_try_advisory_lock(@space, @key) then set_config('application_name', @name, false) || set_config('idle_session_timeout', @frozen, false) end",
                connection)
            {
                Parameters =
                {
                    new("name", ApplicationName(Node)), new("space", LockSpace), new("key", Key(follower)),
                    new("frozen", ((int)FrozenAfter.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture)),
                },
            };
            await using (command.ConfigureAwait(false))
            {
                mayHold = true;
                var granted = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string;
                mayHold = granted;
                if (granted)
                {
                    if (_lastLeaders.TryRemove(follower, out var previous) && previous != Node)
                    {
                        await FenceAsync(connection, follower, previous, cancellationToken).ConfigureAwait(false);
                    }

                    return new Leadership(this, connection, follower);
                }
            }
        }
        catch
        {
            // Granted while the answer was lost, or the fencing failed: let go of the lock and the settings before the
            // connection goes back to the pool (which does not clear sessions), or keep it out of the pool.
            await (mayHold ? ReleaseAsync(connection, follower) : connection.DisposeAsync().AsTask()).ConfigureAwait(false);
            throw;
        }

        await connection.DisposeAsync().ConfigureAwait(false); // not granted: nothing was set on the session
        if (await FindLeaderAsync(follower, cancellationToken).ConfigureAwait(false) is { } leader)
        {
            _lastLeaders[follower] = leader; // to fence it if this process takes over from it
        }

        return null;
    }

    /// <summary>
    /// Lets go of the lock of <paramref name="follower"/> and resets the settings it set, then gives the connection back;
    /// one that cannot be cleaned is kept out of the pool (closed when given back), and a broken one has ended its
    /// session on the server, the lock with it.
    /// </summary>
    private Task ReleaseAsync(NpgsqlConnection connection, string follower) => _connections.ReleaseAsync(
        connection,
        "select pg_advisory_unlock(@space, @key); reset application_name; reset idle_session_timeout",
        parameters => parameters.AddRange(new[] { new NpgsqlParameter("space", LockSpace), new NpgsqlParameter("key", Key(follower)) }));

    /// <summary>Ends the sessions of <paramref name="previous"/> (frozen, dead or cut off), whose locks would stop this leader and the views.</summary>
    private async Task FenceAsync(NpgsqlConnection connection, string follower, string previous, CancellationToken cancellationToken)
    {
        var command = new NpgsqlCommand(
            """
            select count(*) from (
              select pg_terminate_backend(pid) from pg_stat_activity
              where datname = current_database() and pid <> pg_backend_pid() and application_name = @node) ended
            """,
            connection)
        {
            Parameters = { new("node", previous) },
        };
        await using var dispose = command.ConfigureAwait(false);
        var ended = (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        if (ended > 0)
        {
            LogFenced(_logger, follower, previous, ended);
        }
    }

    public async Task<string?> FindLeaderAsync(string follower, CancellationToken cancellationToken = default)
    {
        var connection = _connections.Create();
        await using var disposeConnection = connection.ConfigureAwait(false);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        var command = new NpgsqlCommand(
            """
            select a.application_name from pg_locks l join pg_stat_activity a on a.pid = l.pid
            where l.locktype = 'advisory' and l.granted and l.classid = @space and l.objid = @key and l.objsubid = 2
              and l.database = (select oid from pg_database where datname = current_database())
            """,
            connection)
        {
            Parameters = { new("space", LockSpace), new("key", (long)(uint)Key(follower)) },
        };
        await using var disposeCommand = command.ConfigureAwait(false);
        var holder = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
        return holder is null ? null : holder.StartsWith(ApplicationPrefix, StringComparison.Ordinal) ? holder[ApplicationPrefix.Length..] : holder;
    }

    private static string ApplicationName(string node)
    {
        var name = ApplicationPrefix + node;
        return name.Length <= 63 ? name : name[..63]; // PostgreSQL keeps 63 bytes of it
    }

    private static int Key(string follower) => BitConverter.ToInt32(SHA256.HashData(Encoding.UTF8.GetBytes(follower)).AsSpan(0, 4));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Taking {Follower} over from {Previous}, which stopped leading it: ended its {Count} sessions")]
    private static partial void LogFenced(ILogger logger, string follower, string previous, long count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The connection holding the leadership of {Follower} is gone; giving the leadership up")]
    private static partial void LogLost(ILogger logger, Exception exception, string follower);

    /// <summary>A held lock: its connection is looked at every second, and the leadership is lost when it fails.</summary>
    private sealed class Leadership : ILeadership
    {
        private readonly PostgresLeaderElection _election;
        private readonly NpgsqlConnection _connection;
        private readonly string _follower;
        private readonly CancellationTokenSource _lost = new();
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _keepalive;

        public Leadership(PostgresLeaderElection election, NpgsqlConnection connection, string follower)
        {
            _election = election;
            _connection = connection;
            _follower = follower;
            _keepalive = Task.Run(KeepaliveAsync);
        }

        public CancellationToken Lost => _lost.Token;

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync().ConfigureAwait(false);
#pragma warning disable VSTHRD003 // the keepalive is this object's own task
            await _keepalive.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
#pragma warning restore VSTHRD003
            // Let go before the connection goes back to the pool: an idle pooled session would keep the lock and the settings.
            await _election.ReleaseAsync(_connection, _follower).ConfigureAwait(false);
            _stop.Dispose();
            _lost.Dispose();
        }

        private async Task KeepaliveAsync()
        {
            var token = _stop.Token;
            try
            {
                while (true)
                {
                    await Task.Delay(KeepaliveInterval, _election._timeProvider, token).ConfigureAwait(false);
                    var check = new NpgsqlCommand("select 1", _connection) { CommandTimeout = 5 };
                    await using (check.ConfigureAwait(false))
                    {
                        await check.ExecuteNonQueryAsync(token).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                // given up
            }
            catch (Exception exception)
            {
                LogLost(_election._logger, exception, _follower);
                await _lost.CancelAsync().ConfigureAwait(false);
            }
        }
    }
}
