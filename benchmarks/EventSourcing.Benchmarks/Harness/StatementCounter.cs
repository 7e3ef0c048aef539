using System.Diagnostics;
using System.Text.RegularExpressions;
using Npgsql;

namespace EventSourcing.Benchmarks.Harness;

/// <summary>One statement as PostgreSQL counted it (<c>pg_stat_statements</c>): who ran it, its normalized text, how often.</summary>
public sealed record StatementCount(string User, long QueryId, string Query, long Calls);

/// <summary>What PostgreSQL had counted for one database at one moment: statements, transactions committed or rolled back, sessions started.</summary>
public sealed record DatabaseCounts(TimeSpan At, long Commits, long Rollbacks, long Sessions, IReadOnlyList<StatementCount> Statements)
{
    /// <summary>Transactions committed or rolled back.</summary>
    public long Transactions => Commits + Rollbacks;

    /// <summary>What was counted between <paramref name="start"/> and this reading, per statement (by user and query id).</summary>
    public DatabaseCounts Since(DatabaseCounts start)
    {
        ArgumentNullException.ThrowIfNull(start);
        var before = start.Statements.ToDictionary(s => (s.User, s.QueryId), s => s.Calls);
        return new DatabaseCounts(
            At - start.At,
            Commits - start.Commits,
            Rollbacks - start.Rollbacks,
            Sessions - start.Sessions,
            [.. Statements.Select(s => s with { Calls = s.Calls - before.GetValueOrDefault((s.User, s.QueryId)) }).Where(s => s.Calls != 0)]);
    }
}

/// <summary>
/// Reads what PostgreSQL counts for a database: every statement through <c>pg_stat_statements</c> (exact, updated as each
/// statement ends) and transactions through <c>pg_stat_database</c> (<c>xact_commit + xact_rollback</c>, which a server
/// process reports at most once a second while busy and within 10 seconds once idle, and at once when it ends). It reads
/// from the server's administrative database, so reading adds nothing to the counts of the database it watches.
/// </summary>
internal sealed partial class StatementCounter(string adminConnectionString, string database)
{
    /// <summary>Npgsql's reset of a pooled connection that has prepared statements (sent before the next command on it, in one message).</summary>
    public static readonly IReadOnlyList<string> ResetStatements =
        ["SET SESSION AUTHORIZATION DEFAULT", "RESET ALL", "CLOSE ALL", "UNLISTEN *", "SELECT pg_advisory_unlock_all()", "DISCARD SEQUENCES", "DISCARD TEMP"];

    /// <summary>Npgsql's reset of a pooled connection without prepared statements.</summary>
    public const string DiscardAll = "DISCARD ALL";

    private readonly Stopwatch _clock = Stopwatch.StartNew();

    /// <summary>The clock readings are taken on (<see cref="DatabaseCounts.At"/>).</summary>
    public TimeSpan Now => _clock.Elapsed;

    /// <summary>Creates the extension in the watched database and in the administrative one, where it is read.</summary>
    public static async Task<StatementCounter> PrepareAsync(string adminConnectionString, string databaseConnectionString, CancellationToken cancellationToken)
    {
        const string create = $"create extension if not exists {BenchmarkContext.StatementStatistics}";
        await ExecuteAsync(databaseConnectionString, create, cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(adminConnectionString, create, cancellationToken).ConfigureAwait(false);
        return new StatementCounter(adminConnectionString, new NpgsqlConnectionStringBuilder(databaseConnectionString).Database!);
    }

    /// <summary>Whether <paramref name="query"/> is part of a pooled-connection reset.</summary>
    public static bool IsReset(string query) => query == DiscardAll || ResetStatements.Contains(query, StringComparer.Ordinal);

    /// <summary>How many resets <paramref name="statements"/> hold, each counted once.</summary>
    public static long Resets(IEnumerable<StatementCount> statements) =>
        statements.Where(s => s.Query == DiscardAll || s.Query == ResetStatements[0]).Sum(s => s.Calls);

    /// <summary>
    /// A statement's text on one line, a long plain column list (no parentheses) as <c>…</c> so that the table and the
    /// condition show, cut to <paramref name="length"/> characters.
    /// </summary>
    public static string Shorten(string query, int length = 130)
    {
        ArgumentNullException.ThrowIfNull(query);
        var line = ColumnList().Replace(Whitespace().Replace(query, " ").Trim(), "select … from ");
        return line.Length <= length ? line : $"{line[..(length - 1)]}…";
    }

    /// <summary>Forgets every statement counted so far (<c>pg_stat_statements_reset()</c>).</summary>
    public Task ResetAsync(CancellationToken cancellationToken) => ExecuteAsync(adminConnectionString, "select pg_stat_statements_reset()", cancellationToken);

    /// <summary>Everything counted so far for the database: every statement by user, transactions, sessions started.</summary>
    public async Task<DatabaseCounts> ReadAsync(CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(adminConnectionString);
        await using (connection.ConfigureAwait(false))
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            var at = _clock.Elapsed;
            var statements = new List<StatementCount>();
            var read = new NpgsqlCommand(
                """
                select pg_get_userbyid(s.userid), s.queryid, s.query, s.calls
                from pg_stat_statements s join pg_database d on d.oid = s.dbid
                where d.datname = @database
                """,
                connection);
            await using (read.ConfigureAwait(false))
            {
                read.Parameters.AddWithValue("database", database);
                var reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await using (reader.ConfigureAwait(false))
                {
                    while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        statements.Add(new StatementCount(reader.GetString(0), reader.GetInt64(1), reader.GetString(2), reader.GetInt64(3)));
                    }
                }
            }

            var transactions = new NpgsqlCommand("select xact_commit, xact_rollback, sessions from pg_stat_database where datname = @database", connection);
            await using (transactions.ConfigureAwait(false))
            {
                transactions.Parameters.AddWithValue("database", database);
                var reader = await transactions.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await using (reader.ConfigureAwait(false))
                {
                    await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                    return new DatabaseCounts(at, reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), statements);
                }
            }
        }
    }

    /// <summary>
    /// Waits until no session is connected to the database any more: a server process reports its last counts as it
    /// ends, so after this every transaction of the departed sessions is counted.
    /// </summary>
    public async Task WaitUntilDisconnectedAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(adminConnectionString);
        await using (connection.ConfigureAwait(false))
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            var command = new NpgsqlCommand("select count(*) from pg_stat_activity where datname = @database", connection);
            await using (command.ConfigureAwait(false))
            {
                command.Parameters.AddWithValue("database", database);
                await Poll.UntilAsync(
                    async token => (long)(await command.ExecuteScalarAsync(token).ConfigureAwait(false))! == 0,
                    TimeSpan.FromMilliseconds(20),
                    timeout,
                    $"the sessions on {database} to end",
                    cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Runs <paramref name="sql"/> on a connection of its own, not pooled: no session of this process stays behind in the database.</summary>
    private static async Task ExecuteAsync(string connectionString, string sql, CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        await using (connection.ConfigureAwait(false))
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            var command = new NpgsqlCommand(sql, connection);
            await using (command.ConfigureAwait(false))
            {
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    [GeneratedRegex(@"^select [^()]{40,}? from ", RegexOptions.IgnoreCase)]
    private static partial Regex ColumnList();
}
