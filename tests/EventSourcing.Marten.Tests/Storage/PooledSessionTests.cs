using EventSourcing.Commands;
using EventSourcing.Marten.Storage;
using EventSourcing.Marten.Tests.Hosting;
using EventSourcing.Reactors;
using EventSourcing.Testing.Contracts.Storage;
using EventSourcing.Tests.Shared.Postgres;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using EventSourcing.Tests.Shared.Waiting;

namespace EventSourcing.Marten.Tests.Storage;

/// <summary>
/// The pool does not clear sessions by default (<c>No Reset On Close=true</c>, from <c>MartenConventions.WithConnectionDefaults</c>):
/// whatever the library leaves on a session goes to the next user of that connection. These tests end claims and
/// leaderships every way they can end (completed, cancelled at any moment, their unlock refused by the server) and
/// listeners every way they stop, then take every connection of the pool and look at its session from the inside:
/// no advisory lock, the connection string's application name, no <c>idle_session_timeout</c>, no LISTEN.
/// </summary>
public sealed class PooledSessionTests(PostgresFixture postgres)
{
    /// <summary>The first keys of the library's advisory locks: idempotency claims ("esId") and leaderships ("esLd").</summary>
    private static readonly int[] LibraryLockSpaces = [0x65734964, 0x65734c64];

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30); // releases run in the background: slow on a busy machine

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Claims_and_leaderships_however_they_end_leave_nothing_on_the_pooled_sessions()
    {
        var connectionString = await postgres.CreateDatabaseAsync("pooled_sessions", Ct);
        await InstallRefusableUnlockAsync(connectionString);
        await using var nodes = await MartenNodes.StartAsync(connectionString, es => ContractEvents.Registry(es.Events), count: 1);
        var node = nodes.A;
        var dataSource = DataSourceOf(node);
        Assert.True(new NpgsqlConnectionStringBuilder(dataSource.ConnectionString).NoResetOnClose, "the default no longer turns the session reset off");
        var claims = node.Services.GetRequiredService<IIdempotencyStore>();
        var election = node.Services.GetRequiredService<ILeaderElection>();

        // Claims completed and let go, one after another and side by side.
        for (var i = 0; i < 10; i++)
        {
            await using var claim = await claims.ClaimAsync(Request(Guid.NewGuid()), Ct);
            await claim.CompleteAsync("\"done\"", Ct);
        }

        await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
        {
            await using var claim = await claims.ClaimAsync(Request(Guid.NewGuid()), Ct);
            await claim.CompleteAsync("\"done\"", Ct);
        }));

        // A claim cancelled while it waits for the lock another claim holds.
        var contested = Guid.NewGuid();
        await using (await claims.ClaimAsync(Request(contested), Ct))
        {
            using var impatient = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            impatient.CancelAfter(TimeSpan.FromMilliseconds(300));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => claims.ClaimAsync(Request(contested), impatient.Token));
        }

        // Claims and leaderships cancelled at every moment of taking the lock: before, during, just after.
        for (var i = 0; i < 40; i++)
        {
            using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            cancel.CancelAfter(TimeSpan.FromMilliseconds(i % 20));
            try
            {
                await using var claim = await claims.ClaimAsync(Request(Guid.NewGuid()), cancel.Token);
            }
            catch (OperationCanceledException)
            {
                // cancelled before it was granted, or granted and let go in the background
            }

            using var cancelLeader = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            cancelLeader.CancelAfter(TimeSpan.FromMilliseconds(i % 20));
            try
            {
                if (await election.TryAcquireAsync($"follower-{i % 3}", cancelLeader.Token) is { } leadership)
                {
                    await leadership.DisposeAsync();
                }
            }
            catch (OperationCanceledException)
            {
                // cancelled before it was granted, or granted and let go at once
            }
        }

        // A leadership held (named after the node, with the frozen-holder timeout), then given up.
        var held = await election.TryAcquireAsync("follower-held", Ct) ?? throw new InvalidOperationException("the leadership was not granted");
        Assert.Equal(node.ApplicationName, await election.FindLeaderAsync("follower-held", Ct));
        await held.DisposeAsync();
        Assert.Null(await election.FindLeaderAsync("follower-held", Ct));

        // A claim and a leadership whose unlock the server refuses: their connections, lock held, must never serve again.
        // (First every release still running in the background has ended: the refusals are theirs alone.)
        await WaitForNoLibraryLocksAsync(connectionString, node.ApplicationName);
        int refusedClaim, refusedLeadership;
        await using (await RefuseUnlocksAsync(connectionString, LibraryLockSpaces[0]))
        {
            var claim = await claims.ClaimAsync(Request(Guid.NewGuid()), Ct);
            refusedClaim = await LockHolderAsync(connectionString, LibraryLockSpaces[0]);
            await claim.DisposeAsync();
        }

        await using (await RefuseUnlocksAsync(connectionString, LibraryLockSpaces[1]))
        {
            var leadership = await election.TryAcquireAsync("follower-refused", Ct) ?? throw new InvalidOperationException("the leadership was not granted");
            refusedLeadership = await LockHolderAsync(connectionString, LibraryLockSpaces[1]);
            await leadership.DisposeAsync();
        }

        Assert.True(await RefusedBackendAsync(connectionString) > 0, "no unlock was refused");
        await WaitUntilAsync(
            async () => !await IsAliveAsync(connectionString, refusedClaim) && !await IsAliveAsync(connectionString, refusedLeadership),
            "the connections whose unlock was refused to be closed");

        // Releases abandoned by cancelled claims finish in the background: none may be left holding a lock.
        await WaitForNoLibraryLocksAsync(connectionString, node.ApplicationName);
        var sessions = await InspectPoolAsync(dataSource, connectionString, node.ApplicationName);

        Assert.NotEmpty(sessions);
        Assert.DoesNotContain(sessions, s => s.Pid == refusedClaim || s.Pid == refusedLeadership);
        Assert.Equal([], sessions.Where(s => s.AdvisoryLocks > 0).Select(s => $"pid {s.Pid}: {s.AdvisoryLocks} advisory locks"));
        Assert.Equal([], sessions.Where(s => s.ApplicationName != node.ApplicationName).Select(s => $"pid {s.Pid}: application_name '{s.ApplicationName}'"));
        Assert.Equal([], sessions.Where(s => s.IdleSessionTimeout != "0").Select(s => $"pid {s.Pid}: idle_session_timeout {s.IdleSessionTimeout}"));
        Assert.Equal([], sessions.Where(s => s.Listening.Length > 0).Select(s => $"pid {s.Pid}: listening on {string.Join(", ", s.Listening)}"));
    }

    [Fact]
    public async Task A_listener_that_fails_or_stops_ends_its_session_and_leaves_the_pool_listening_on_nothing()
    {
        var connectionString = await postgres.CreateDatabaseAsync("pooled_listeners", Ct);
        await using var dataSource = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(connectionString) { NoResetOnClose = true, ApplicationName = "pooled-listener" }.ConnectionString);
        var connections = SessionConnections.Of(dataSource);

        // Fails once it listens (its connection still open), then waits a minute before it listens again.
        var failedOn = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var failing = new PostgresListener(
            connections, ["es_test_failing"], (_, _) => { }, () => { }, NullLogger.Instance, TimeProvider.System, TimeSpan.FromMinutes(1),
            (connection, _) =>
            {
                failedOn.TrySetResult(connection.ProcessID);
                throw new InvalidOperationException("the listener's work failed");
            });
        await using (failing)
        {
            failing.EnsureStarted();
            var pid = await failedOn.Task.WaitAsync(Patience, Ct);
            await WaitUntilAsync(async () => !await IsAliveAsync(connectionString, pid), "the failed listener's session to end");
        }

        // Listens until it is stopped (its wait cancelled, the connection still open).
        var listeningOn = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var stopped = new PostgresListener(
            connections, ["es_test_stopped", "es_test_stopped_too"], (_, _) => { }, () => { }, NullLogger.Instance, TimeProvider.System, TimeSpan.FromSeconds(1),
            (connection, _) =>
            {
                listeningOn.TrySetResult(connection.ProcessID);
                return Task.CompletedTask;
            });
        stopped.EnsureStarted();
        var stoppedPid = await listeningOn.Task.WaitAsync(Patience, Ct);
        await stopped.DisposeAsync();
        await WaitUntilAsync(async () => !await IsAliveAsync(connectionString, stoppedPid), "the stopped listener's session to end");

        var sessions = await InspectPoolAsync(dataSource, connectionString, "pooled-listener");
        Assert.Equal([], sessions.Where(s => s.Listening.Length > 0).Select(s => $"pid {s.Pid}: listening on {string.Join(", ", s.Listening)}"));
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData("No Reset On Close=false", true)]
    [InlineData("NoResetOnClose=False", true)]
    public async Task The_session_reset_is_off_by_default_and_on_when_the_connection_string_asks_for_it(string? choice, bool reset)
    {
        var database = await postgres.CreateDatabaseAsync("pooled_reset", Ct);
        var connectionString = choice is null ? database : $"{database};{choice}";
        await using var nodes = await MartenNodes.StartAsync(connectionString, es => ContractEvents.Registry(es.Events), count: 1);
        var dataSource = DataSourceOf(nodes.A);
        Assert.Equal(!reset, new NpgsqlConnectionStringBuilder(dataSource.ConnectionString).NoResetOnClose);

        int pid;
        await using (var connection = await dataSource.OpenConnectionAsync(Ct))
        {
            pid = connection.ProcessID;
            await using var dirty = new NpgsqlCommand("select set_config('application_name', 'left-behind', false); LISTEN es_left_behind", connection);
            await dirty.ExecuteNonQueryAsync(Ct);
        }

        var session = await WaitForSessionAsync(dataSource, pid);

        Assert.Equal(reset ? nodes.A.ApplicationName : "left-behind", session.ApplicationName);
        Assert.Equal(reset ? [] : ["es_left_behind"], session.Listening);
    }

    private static NpgsqlDataSource DataSourceOf(MartenNode node) => ((Weasel.Postgresql.PostgresqlDatabase)node.DocumentStore.Storage.Database).DataSource;

    private static IdempotencyRecord Request(Guid id) => new(id, "command", "fingerprint", null, DateTimeOffset.UtcNow);

    /// <summary>
    /// Shadows <c>pg_advisory_unlock(int, int)</c> in this database (its search path puts <c>public</c> before
    /// <c>pg_catalog</c>): the unlock of a lock space listed in <c>es_test_refused_unlocks</c> fails, and the failing
    /// backend's pid is kept in the sequence <c>es_test_refused_pid</c> (a sequence, as the failure rolls back the rest).
    /// </summary>
    private static async Task InstallRefusableUnlockAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(
            $"""
            create table public.es_test_refused_unlocks (space int primary key);
            create sequence public.es_test_refused_pid minvalue 0 start 0;
            create function public.pg_advisory_unlock(space int, key int) returns boolean language plpgsql as $$
            begin
              if exists (select 1 from public.es_test_refused_unlocks r where r.space = pg_advisory_unlock.space) then
                perform setval('public.es_test_refused_pid', pg_backend_pid());
                raise exception 'unlock refused by the test';
              end if;
              return pg_catalog.pg_advisory_unlock(space, key);
            end $$;
            alter database "{connection.Database}" set search_path = public, pg_catalog;
            """,
            connection);
        await command.ExecuteNonQueryAsync(Ct);
    }

    /// <summary>Refuses the unlocks of <paramref name="space"/> until disposed.</summary>
    private static async Task<IAsyncDisposable> RefuseUnlocksAsync(string connectionString, int space)
    {
        await ExecuteAsync(connectionString, $"insert into public.es_test_refused_unlocks values ({space})");
        return new Refusal(connectionString, space);
    }

    private static async Task<int> RefusedBackendAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand("select last_value from public.es_test_refused_pid", connection);
        return (int)(long)(await command.ExecuteScalarAsync(Ct))!;
    }

    /// <summary>The one session holding an advisory lock in <paramref name="space"/>.</summary>
    private static async Task<int> LockHolderAsync(string connectionString, int space)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand("select pid from pg_locks where locktype = 'advisory' and granted and classid::int = @space and database = (select oid from pg_database where datname = current_database())", connection);
        command.Parameters.AddWithValue("space", space);
        var holders = new List<int>();
        await using var reader = await command.ExecuteReaderAsync(Ct);
        while (await reader.ReadAsync(Ct))
        {
            holders.Add(reader.GetInt32(0));
        }

        return Assert.Single(holders);
    }

    private static async Task<bool> IsAliveAsync(string connectionString, int pid)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand("select exists (select 1 from pg_stat_activity where pid = @pid)", connection);
        command.Parameters.AddWithValue("pid", pid);
        return (bool)(await command.ExecuteScalarAsync(Ct))!;
    }

    /// <summary>The advisory locks in the library's spaces held by the node's sessions, seen from another session.</summary>
    /// <summary>Waits until no session of the node (or of its leaderships) holds a library advisory lock; a failure names the sessions that still do.</summary>
    private static async Task WaitForNoLibraryLocksAsync(string connectionString, string applicationName)
    {
        IReadOnlyList<string> held = [];
        await Eventually.UntilAsync(
            async () => (held = await HeldLibraryLocksAsync(connectionString, applicationName)).Count == 0,
            "every library advisory lock to be let go",
            Patience,
            TimeSpan.FromMilliseconds(50),
            () => $"Still held: {string.Join("; ", held)}");
    }

    private static async Task<IReadOnlyList<string>> HeldLibraryLocksAsync(string connectionString, string applicationName)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { ApplicationName = "pool-inspector" }.ConnectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(
            """
            select format('pid %s (%s, %s since %s, started %s): lock %s/%s granted %s; last query: %s',
                          a.pid, a.application_name, a.state, a.state_change, a.backend_start, to_hex(l.classid::int), l.objid, l.granted, left(a.query, 200))
            from pg_locks l join pg_stat_activity a on a.pid = l.pid
            where l.locktype = 'advisory' and l.classid::int = any(@spaces) and a.datname = current_database()
              and (a.application_name = @name or a.application_name like 'es-leader %')
            """,
            connection);
        command.Parameters.AddWithValue("spaces", LibraryLockSpaces);
        command.Parameters.AddWithValue("name", applicationName);
        var held = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(Ct);
        while (await reader.ReadAsync(Ct))
        {
            held.Add(reader.GetString(0));
        }

        return held;
    }

    /// <summary>
    /// Takes every connection of the node's pool at once (idle ones are handed out first; as many as the node has
    /// sessions, and more) and reads each session's state from the inside, as the next user of it would find it.
    /// </summary>
    private static async Task<IReadOnlyList<Session>> InspectPoolAsync(NpgsqlDataSource dataSource, string connectionString, string applicationName)
    {
        await using var admin = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { ApplicationName = "pool-inspector" }.ConnectionString);
        await admin.OpenAsync(Ct);
        await using var count = new NpgsqlCommand("select count(*) from pg_stat_activity where datname = current_database() and application_name = @name", admin);
        count.Parameters.AddWithValue("name", applicationName);
        var sessions = (int)(long)(await count.ExecuteScalarAsync(Ct))!;

        var connections = await Task.WhenAll(Enumerable.Range(0, sessions + 2).Select(_ => dataSource.OpenConnectionAsync(Ct).AsTask()));
        try
        {
            return await Task.WhenAll(connections.Select(ReadSessionAsync));
        }
        finally
        {
            foreach (var connection in connections)
            {
                await connection.DisposeAsync();
            }
        }
    }

    /// <summary>Takes connections of <paramref name="dataSource"/> (keeping them) until it gets the session <paramref name="pid"/>, and reads it.</summary>
    private static async Task<Session> WaitForSessionAsync(NpgsqlDataSource dataSource, int pid)
    {
        var taken = new List<NpgsqlConnection>();
        try
        {
            while (true)
            {
                var connection = await dataSource.OpenConnectionAsync(Ct);
                taken.Add(connection);
                if (connection.ProcessID == pid)
                {
                    return await ReadSessionAsync(connection);
                }

                Assert.True(taken.Count < 50, $"the session {pid} did not come back to the pool");
            }
        }
        finally
        {
            foreach (var connection in taken)
            {
                await connection.DisposeAsync();
            }
        }
    }

    private static async Task<Session> ReadSessionAsync(NpgsqlConnection connection)
    {
        await using var command = new NpgsqlCommand(
            """
            select pg_backend_pid(), current_setting('application_name'), current_setting('idle_session_timeout'),
              (select count(*) from pg_locks where pid = pg_backend_pid() and locktype = 'advisory'),
              coalesce((select array_agg(c order by c) from pg_listening_channels() c), '{}')
            """,
            connection);
        await using var reader = await command.ExecuteReaderAsync(Ct);
        await reader.ReadAsync(Ct);
        return new Session(reader.GetInt32(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3), reader.GetFieldValue<string[]>(4));
    }

    private static Task WaitUntilAsync(Func<Task<bool>> condition, string what) => Eventually.UntilAsync(condition, what, Patience, TimeSpan.FromMilliseconds(50));

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(Ct);
    }

    private sealed record Session(int Pid, string ApplicationName, string IdleSessionTimeout, long AdvisoryLocks, string[] Listening);

    private sealed class Refusal(string connectionString, int space) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await ExecuteAsync(connectionString, $"delete from public.es_test_refused_unlocks where space = {space}");
    }
}
