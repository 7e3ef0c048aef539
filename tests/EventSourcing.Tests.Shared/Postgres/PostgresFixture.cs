using EventSourcing.Testing.Postgres;

namespace EventSourcing.Tests.Shared.Postgres;

/// <summary>
/// One PostgreSQL server per test assembly. A test project opts in with
/// <c>[assembly: AssemblyFixture(typeof(PostgresFixture))]</c> and takes the fixture in its test class
/// constructors; each test class should work in its own database from <see cref="CreateDatabaseAsync"/>.
/// </summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private PostgresServer? _server;

    /// <summary>The server: an external one, a throwaway local cluster or a container.</summary>
    public PostgresServer Server => _server ?? throw new InvalidOperationException("The PostgreSQL fixture is not initialized.");

    /// <summary>A connection string to the server's administrative database.</summary>
    public string ConnectionString => Server.ConnectionString;

    /// <summary>Creates a fresh, uniquely named database and returns a connection string to it.</summary>
    public Task<string> CreateDatabaseAsync(string? name = null, CancellationToken cancellationToken = default) =>
        Server.CreateDatabaseAsync(name, cancellationToken);

    public async ValueTask InitializeAsync() =>
        _server = await PostgresServer.StartAsync(cancellationToken: TestContext.Current.CancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
