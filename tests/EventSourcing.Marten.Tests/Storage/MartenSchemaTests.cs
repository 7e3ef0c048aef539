using EventSourcing.Events;
using EventSourcing.Hosting;
using EventSourcing.Marten.Hosting;
using EventSourcing.Storage;
using EventSourcing.Tests.Shared.Postgres;
using EventSourcing.Testing.Contracts.Storage;
using JasperFx;
using Marten;
using Microsoft.Extensions.DependencyInjection;
using Weasel.Core.Migrations;

namespace EventSourcing.Marten.Tests.Storage;

/// <summary>The production path of docs/marten.md: no schema changes at run time, the schema applied ahead of time.</summary>
public sealed class MartenSchemaTests(PostgresFixture postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Without_run_time_creation_a_missing_schema_is_a_clear_error_until_it_is_applied_ahead_of_time()
    {
        var connectionString = await postgres.CreateDatabaseAsync("schema_ahead", Ct);
        await using var provider = new ServiceCollection()
            .AddEventSourcing(es =>
            {
                ContractEvents.Registry(es.Events);
                es.UseTestMarten(connectionString, AutoCreate.None);
            })
            .BuildServiceProvider();
        var store = provider.GetRequiredService<IEventStore>();

        var missing = await Assert.ThrowsAsync<InvalidOperationException>(() => store.AppendAsync("s", ExpectedVersion.Any, [ContractEvents.Thing(1)], EventMetadata.Empty, Ct));
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.ReadAllAsync(0, Ct).ToListAsync(Ct).AsTask());

        var documents = provider.GetRequiredService<IDocumentStore>();
        var script = Path.Combine(Path.GetTempPath(), $"schema-{Guid.NewGuid():N}.sql");
        await documents.Storage.Database.WriteMigrationFileAsync(script, Ct);
        var sql = await File.ReadAllTextAsync(script, Ct);
        File.Delete(script);
        await documents.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
        var appended = await store.AppendAsync("s", ExpectedVersion.Any, [ContractEvents.Thing(1)], EventMetadata.Empty, Ct);

        Assert.Contains("docs/marten.md", missing.Message, StringComparison.Ordinal);
        Assert.Contains("mt_events", sql, StringComparison.Ordinal);
        Assert.Equal(1, appended.StreamVersion);
        Assert.Single(await store.ReadAllAsync(0, Ct).ToListAsync(Ct));
    }
}
