using EventSourcing.Hosting;
using EventSourcing.Marten.Hosting;
using EventSourcing.Tests.Shared.Postgres;
using EventSourcing.Testing.Contracts.Projections;
using JasperFx;

namespace EventSourcing.Marten.Tests.Projections;

/// <summary>The projection contract on PostgreSQL: inline projections in Marten's append transaction, async ones on Marten's daemon (HotCold).</summary>
public sealed class MartenProjectionTests(PostgresFixture postgres) : ProjectionContract
{
    protected override async Task<ProjectionHost> StartHostAsync(Action<EventSourcingBuilder> configure)
    {
        var connectionString = await postgres.CreateDatabaseAsync("projections", Ct);
        return await ProjectionHost.StartAsync(es =>
        {
            configure(es);
            es.UseTestMarten(connectionString);
        });
    }
}
