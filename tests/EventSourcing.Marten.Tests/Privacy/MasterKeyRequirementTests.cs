using EventSourcing.Hosting;
using EventSourcing.Marten.Hosting;
using EventSourcing.Tests.Shared.Postgres;
using EventSourcing.Testing.Contracts.Projections;
using JasperFx;

namespace EventSourcing.Marten.Tests.Privacy;

public sealed class MasterKeyRequirementTests(PostgresFixture postgres)
{
    [Fact]
    public async Task Outside_development_the_postgres_key_store_refuses_to_start_without_a_master_key()
    {
        var connectionString = await postgres.CreateDatabaseAsync("no_master_key", TestContext.Current.CancellationToken);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => ProjectionHost.StartAsync(es =>
            es.UseMarten(connectionString, marten => marten.AutoCreateSchemaObjects = AutoCreate.CreateOrUpdate)));

        Assert.Contains("master key", error.Message, StringComparison.Ordinal);
        Assert.Contains("EventSourcing:PersonalData:MasterKey", error.Message, StringComparison.Ordinal);
    }
}
