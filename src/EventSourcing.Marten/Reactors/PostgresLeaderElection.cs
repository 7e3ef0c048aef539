using System.Security.Cryptography;
using System.Text;
using EventSourcing.Reactors;
using Marten;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace EventSourcing.Marten.Reactors;

/// <summary>
/// Elects the process that runs each follower through PostgreSQL: a session advisory lock per follower, held on a
/// connection of the leadership's own, whose application name says which process holds it (so any process can tell
/// who runs a follower). A process that dies, or whose connection breaks, lets go of the lock with its session; the
/// others try every second (<see cref="ReactorRunner"/>), so one of them takes over within about a second of the
/// server noticing. The holder looks at its connection every <see cref="KeepaliveInterval"/> and gives the leadership
/// up (<see cref="ILeadership.Lost"/>) when it is gone. Chosen over Marten's daemon leadership, which elects projection
/// shards only, and over DistributedLock.Postgres, which owns its connections and cannot say which process holds a lock.
/// </summary>
internal sealed partial class PostgresLeaderElection(IDocumentStore store, string node, ILogger logger, TimeProvider timeProvider) : ILeaderElection
{
    private readonly ILogger _logger = logger;
    private readonly TimeProvider _timeProvider = timeProvider;

    /// <summary>How often the holder checks that its lock's connection is still there.</summary>
    internal static readonly TimeSpan KeepaliveInterval = TimeSpan.FromSeconds(1);

    /// <summary>The first key of the two-key advisory locks of leadership (the second is a hash of the follower's name).</summary>
    private const int LockSpace = 0x65734c64; // "esLd"

    private const string ApplicationPrefix = "es-leader ";

    public string Node { get; } = node;

    public async Task<ILeadership?> TryAcquireAsync(string follower, CancellationToken cancellationToken)
    {
        var connection = store.Storage.Database.CreateConnection();
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            // The connection is named after this process only when it holds the lock: that is how others find the leader.
            var command = new NpgsqlCommand("select case when pg_try_advisory_lock(@space, @key) then set_config('application_name', @name, false) end", connection)
            {
                Parameters = { new("name", ApplicationName(Node)), new("space", LockSpace), new("key", Key(follower)) },
            };
            await using (command.ConfigureAwait(false))
            {
                if (await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string)
                {
                    return new Leadership(this, connection, follower);
                }
            }
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false); // a lock granted while the answer was lost goes with the broken session
            throw;
        }

        await connection.DisposeAsync().ConfigureAwait(false);
        return null;
    }

    public async Task<string?> FindLeaderAsync(string follower, CancellationToken cancellationToken)
    {
        var connection = store.Storage.Database.CreateConnection();
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
            try
            {
                // Let go before the connection goes back to the pool: an idle pooled session would keep the lock.
                var release = new NpgsqlCommand("select pg_advisory_unlock(@space, @key); reset application_name", _connection) { CommandTimeout = 5 };
                release.Parameters.AddWithValue("space", LockSpace);
                release.Parameters.AddWithValue("key", Key(_follower));
                await using (release.ConfigureAwait(false))
                {
                    await release.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
                }
            }
            catch (Exception) when (_connection.State != System.Data.ConnectionState.Open)
            {
                // broken: the server ends the session, and the lock with it
            }
            catch (Exception)
            {
                NpgsqlConnection.ClearPool(_connection); // still open, lock maybe held: closed when returned, never reused
            }

            await _connection.DisposeAsync().ConfigureAwait(false);
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
