using EventSourcing.Storage;
using EventSourcing.Tests.Shared.Postgres;
using Marten;
using Marten.Exceptions;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Reservations.Tests.Infrastructure;

/// <summary>The store a scenario runs on: each scenario class is written once and derived per store.</summary>
public abstract class StoreUnderTest
{
    /// <summary>The store's name, as the tests report it.</summary>
    public abstract string Name { get; }

    /// <summary>The <see cref="IEventStore"/> implementation the app must end up with.</summary>
    protected abstract string ExpectedStoreType { get; }

    /// <summary>Starts a fresh app (on PostgreSQL: in a database of its own) with <paramref name="settings"/>.</summary>
    public Task<ReservationsApp> StartAsync(IReadOnlyDictionary<string, string?>? settings = null) => StartAsync(new AppSetup(settings));

    /// <summary>Starts a fresh app (on PostgreSQL: in a database of its own) as <paramref name="setup"/> says.</summary>
    public async Task<ReservationsApp> StartAsync(AppSetup setup)
    {
        var (connectionString, cleanup) = await DatabaseAsync();
        return await StartAsync(connectionString, setup, cleanup);
    }

    protected async Task<ReservationsApp> StartAsync(string? connectionString, AppSetup setup, Func<Task>? cleanup)
    {
        var app = new ReservationsApp(connectionString, setup, cleanup);
        try
        {
            app.Start();
            // Guard: the connection string must have reached the app, or the "PostgreSQL" tests would run in memory.
            Assert.Equal(ExpectedStoreType, app.Services.GetRequiredService<IEventStore>().GetType().Name);
            return app;
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
    }

    /// <summary>A connection string to a fresh database (null for the in-memory store), and what removes it.</summary>
    protected abstract Task<(string? ConnectionString, Func<Task>? Cleanup)> DatabaseAsync();

    public override string ToString() => Name;
}

public sealed class InMemoryStore : StoreUnderTest
{
    public override string Name => "in-memory";

    protected override string ExpectedStoreType => "InMemoryEventStore";

    protected override Task<(string? ConnectionString, Func<Task>? Cleanup)> DatabaseAsync() => Task.FromResult<(string?, Func<Task>?)>((null, null));
}

/// <summary>
/// PostgreSQL: each app gets a database of its own, copied from a template whose schema was applied ahead of time (as
/// in production), and dropped when the app is disposed. <see cref="StartOnEmptyDatabaseAsync"/> starts on a really
/// empty database instead, where the app creates its schema as it starts (Development). <see cref="StartNodesAsync"/>
/// starts several nodes on one such database.
/// </summary>
public sealed class PostgresStore(PostgresFixture postgres) : StoreUnderTest
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static readonly TimeSpan SchemaRetryPause = TimeSpan.FromMilliseconds(200);
    private static string? _template;

    public override string Name => "PostgreSQL";

    protected override string ExpectedStoreType => "MartenEventStore";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Starts an app on an empty database: Marten creates the schema while the app starts.</summary>
    public async Task<ReservationsApp> StartOnEmptyDatabaseAsync(IReadOnlyDictionary<string, string?>? settings = null) =>
        await StartAsync(await postgres.CreateDatabaseAsync("reservations_empty", Ct), new AppSetup(settings), cleanup: null);

    /// <summary>
    /// Starts <paramref name="count"/> nodes (one after the other) on one fresh database copied from the template, each a
    /// host of its own as <paramref name="setup"/> says; more can join later (<see cref="AppNodes.StartNodeAsync"/>).
    /// The database is dropped when the group and all its nodes are disposed.
    /// </summary>
    public async Task<AppNodes> StartNodesAsync(int count, AppSetup setup)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentNullException.ThrowIfNull(setup);
        var (connectionString, dropDatabase) = await DatabaseAsync();
        var nodes = new AppNodes(connectionString!, setup, (nodeSetup, cleanup) => StartAsync(connectionString, nodeSetup, cleanup), dropDatabase!);
        try
        {
            for (var i = 0; i < count; i++)
            {
                await nodes.StartNodeAsync();
            }

            return nodes;
        }
        catch
        {
            await nodes.DisposeAsync();
            throw;
        }
    }

    protected override async Task<(string? ConnectionString, Func<Task>? Cleanup)> DatabaseAsync()
    {
        var template = await TemplateAsync();
        var name = $"reservations_{Guid.NewGuid():N}";
        await Gate.WaitAsync(Ct);
        try
        {
            await ExecuteAsync($"CREATE DATABASE \"{name}\" TEMPLATE \"{template}\"");
        }
        finally
        {
            Gate.Release();
        }

        var connectionString = new NpgsqlConnectionStringBuilder(postgres.ConnectionString) { Database = name }.ConnectionString;
        return (connectionString, () => ExecuteAsync($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
    }

    /// <summary>Once per test run: a database with the app's whole schema and no events, left with no connections.</summary>
    private async Task<string> TemplateAsync()
    {
        await Gate.WaitAsync(Ct);
        try
        {
            if (_template is not null)
            {
                return _template;
            }

            var connectionString = await postgres.CreateDatabaseAsync("reservations_template", Ct);
            var app = await StartAsync(connectionString, new AppSetup(), cleanup: null);
            await using (app)
            {
                var store = app.Services.GetRequiredService<IDocumentStore>();
                for (var attempt = 1; ; attempt++)
                {
                    try
                    {
                        await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
                        break;
                    }
                    catch (MartenSchemaException) when (attempt < 10)
                    {
                        await Task.Delay(SchemaRetryPause, Ct); // the app's daemon is creating the same objects
                    }
                }
            }

            var database = new NpgsqlConnectionStringBuilder(connectionString).Database!;
            await ExecuteAsync($"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}' AND pid <> pg_backend_pid()");
            return _template = database;
        }
        finally
        {
            Gate.Release();
        }
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(postgres.ConnectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(Ct);
    }
}
