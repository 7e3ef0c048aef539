using EventSourcing.Testing.Postgres;
using EventSourcing.Tests.Shared.Postgres;
using Npgsql;

namespace EventSourcing.Marten.Tests.Postgres;

public sealed class PostgresFixtureTests(PostgresFixture postgres)
{
    [Fact]
    public async Task Server_answers_a_query()
    {
        await using var connection = new NpgsqlConnection(postgres.ConnectionString);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var command = new NpgsqlCommand("select version()", connection);

        var version = (string?)await command.ExecuteScalarAsync(TestContext.Current.CancellationToken);

        Assert.StartsWith("PostgreSQL ", version, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Created_databases_are_distinct_and_isolated()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var first = await postgres.CreateDatabaseAsync("isolation", cancellationToken);
        var second = await postgres.CreateDatabaseAsync("isolation", cancellationToken);

        await ExecuteAsync(first, "create table reservations (id uuid primary key)", cancellationToken);
        await ExecuteAsync(first, "insert into reservations values (gen_random_uuid())", cancellationToken);

        Assert.NotEqual(DatabaseName(first), DatabaseName(second));
        Assert.Equal("isolation", DatabaseName(first)[.."isolation".Length]);
        Assert.Equal(1L, await ExecuteAsync(first, "select count(*) from reservations", cancellationToken));
        var missing = await Assert.ThrowsAsync<PostgresException>(
            () => ExecuteAsync(second, "select count(*) from reservations", cancellationToken));
        Assert.Equal(PostgresErrorCodes.UndefinedTable, missing.SqlState);
    }

    [Theory]
    [InlineData(PostgresStopMode.Fast)]
    [InlineData(PostgresStopMode.Immediate)]
    public async Task A_restartable_server_stops_refuses_connections_and_starts_again_with_its_data_on_the_same_port(PostgresStopMode mode)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var server = await PostgresServer.StartAsync(new PostgresServerOptions { Restartable = true }, cancellationToken);
        var database = await server.CreateDatabaseAsync("restart", cancellationToken);
        await ExecuteAsync(database, "create table kept (id int primary key); insert into kept values (1), (2)", cancellationToken);
        await using var open = new NpgsqlConnection(database);
        await open.OpenAsync(cancellationToken);

        await server.StopAsync(mode, cancellationToken);
        var refused = await Assert.ThrowsAsync<NpgsqlException>(() => ExecuteAsync(database, "select 1", cancellationToken));
        var broken = await Assert.ThrowsAnyAsync<NpgsqlException>(() => new NpgsqlCommand("select 1", open).ExecuteScalarAsync(cancellationToken));
        await server.StartAgainAsync(cancellationToken);

        Assert.Equal(PostgresServerKind.LocalCluster, server.Kind);
        Assert.True(refused.IsTransient, refused.ToString());
        Assert.NotNull(broken);
        Assert.Equal(2L, await ExecuteAsync(database, "select count(*) from kept", cancellationToken));
    }

    [Fact]
    public async Task A_server_with_settings_of_its_own_is_started_with_them_never_taken_from_the_environment()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var settings = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["shared_preload_libraries"] = "pg_stat_statements", // read only at start
            ["work_mem"] = "12MB",
        };
        var variable = $"ES_TEST_SETTINGS_{Guid.NewGuid():N}"; // names the fixture's server, which has none of them
        Environment.SetEnvironmentVariable(variable, postgres.ConnectionString);
        try
        {
            await using var server = await PostgresServer.StartAsync(new PostgresServerOptions { ConnectionStringVariable = variable, Settings = settings }, cancellationToken);

            Assert.NotEqual(PostgresServerKind.External, server.Kind);
            Assert.Equal("pg_stat_statements", await ExecuteAsync(server.ConnectionString, "show shared_preload_libraries", cancellationToken));
            Assert.Equal("12MB", await ExecuteAsync(server.ConnectionString, "show work_mem", cancellationToken));
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }

    [Theory]
    [InlineData("work_mem", "1MB' -c fsync='on")]
    [InlineData("work_mem; drop", "1MB")]
    public async Task A_setting_that_could_reach_past_its_value_is_refused_before_anything_starts(string name, string value)
    {
        var options = new PostgresServerOptions { Settings = new Dictionary<string, string>(StringComparer.Ordinal) { [name] = value } };

        var refused = await Assert.ThrowsAsync<ArgumentException>(() => PostgresServer.StartAsync(options, TestContext.Current.CancellationToken));

        Assert.Contains(name, refused.Message, StringComparison.Ordinal);
    }

    private static string DatabaseName(string connectionString) =>
        new NpgsqlConnectionStringBuilder(connectionString).Database!;

    private static async Task<object?> ExecuteAsync(string connectionString, string sql, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync(cancellationToken);
    }
}
