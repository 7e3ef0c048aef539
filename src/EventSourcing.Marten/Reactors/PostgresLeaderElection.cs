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

    /// <summary>The application name of the session by which a process says it handed its leadership over (see <see cref="HandoverGrace"/>).</summary>
    private const string HandoverPrefix = "es-handover ";

    /// <summary>
    /// How long a process that lets go of a leadership on purpose (stopping) keeps a session named
    /// <c>es-handover {node}</c>: the process taking over sees it and does not fence a process that is shutting down in
    /// order. Longer than the others' election interval, so that the next of them to try finds it.
    /// </summary>
    internal static readonly TimeSpan HandoverGrace = TimeSpan.FromSeconds(5);

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
                        await FenceAsync(connection, follower, previous, cancellationToken).ConfigureAwait(false); // unless it handed over
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

    /// <summary>
    /// Ends the sessions of <paramref name="previous"/> (frozen, dead or cut off), whose locks would stop this leader and
    /// the views; nothing when it handed its leadership over on purpose (a session of its named <c>es-handover</c>): a
    /// process stopping in order lets go of its locks itself, and ending its sessions under it would only fail its shutdown.
    /// </summary>
    private async Task FenceAsync(NpgsqlConnection connection, string follower, string previous, CancellationToken cancellationToken)
    {
        var command = new NpgsqlCommand(
            """
            select case when exists (select 1 from pg_stat_activity where datname = current_database() and application_name = @handover)
              then -1
              else (select count(*) from (
                select pg_terminate_backend(pid) from pg_stat_activity
                where datname = current_database() and pid <> pg_backend_pid() and application_name = @node) ended)
            end
            """,
            connection)
        {
            Parameters = { new("node", previous), new("handover", HandoverName(previous)) },
        };
        await using var dispose = command.ConfigureAwait(false);
        var ended = (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        if (ended < 0)
        {
            LogHandedOver(_logger, follower, previous);
        }
        else if (ended > 0)
        {
            LogFenced(_logger, follower, previous, ended);
        }
    }

    /// <summary>
    /// Lets go of the lock of <paramref name="follower"/> on purpose: the session is renamed <c>es-handover {node}</c> in
    /// the same statement, and kept for <see cref="HandoverGrace"/> before its settings are reset and it goes back to the
    /// pool, so the process taking over knows not to fence this one.
    /// </summary>
    private async Task HandOverAsync(NpgsqlConnection connection, string follower)
    {
        try
        {
            var command = new NpgsqlCommand(
                "select pg_advisory_unlock(@space, @key), set_config('application_name', @handover, false), set_config('idle_session_timeout', '0', false)",
                connection)
            {
                Parameters = { new("space", LockSpace), new("key", Key(follower)), new("handover", HandoverName(Node)) },
                CommandTimeout = 5,
            };
            await using (command.ConfigureAwait(false))
            {
                await command.ExecuteNonQueryAsync().ConfigureAwait(false);
            }
        }
        catch (Exception exception) when (exception is NpgsqlException or TimeoutException or InvalidOperationException)
        {
            await ReleaseAsync(connection, follower).ConfigureAwait(false); // the session is gone or unusable: as before
            return;
        }

        _ = Task.Run(async () =>
        {
            try
            {
                await Task.Delay(HandoverGrace, _timeProvider).ConfigureAwait(false);
                await _connections.ReleaseAsync(connection, "reset application_name; reset idle_session_timeout").ConfigureAwait(false);
            }
            catch (Exception exception)
            {
                LogHandoverCleanupFailed(_logger, exception, follower); // the process is stopping: its connections close with it
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        });
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

    private static string ApplicationName(string node) => Truncated(ApplicationPrefix + node);

    private static string HandoverName(string node) => Truncated(HandoverPrefix + node);

    private static string Truncated(string name) => name.Length <= 63 ? name : name[..63]; // PostgreSQL keeps 63 bytes of it

    private static int Key(string follower) => BitConverter.ToInt32(SHA256.HashData(Encoding.UTF8.GetBytes(follower)).AsSpan(0, 4));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Taking {Follower} over from {Previous}, which stopped leading it: ended its {Count} sessions")]
    private static partial void LogFenced(ILogger logger, string follower, string previous, long count);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Giving back the session that handed {Follower} over failed")]
    private static partial void LogHandoverCleanupFailed(ILogger logger, Exception exception, string follower);

    [LoggerMessage(Level = LogLevel.Information, Message = "Taking {Follower} over from {Previous}, which handed it over")]
    private static partial void LogHandedOver(ILogger logger, string follower, string previous);

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
            // On purpose (not lost): say so to the process that takes over, so that it does not fence this one.
            await (_lost.IsCancellationRequested
                ? _election.ReleaseAsync(_connection, _follower)
                : _election.HandOverAsync(_connection, _follower)).ConfigureAwait(false);
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
