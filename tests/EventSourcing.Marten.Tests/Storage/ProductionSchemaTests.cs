using EventSourcing.Events;
using EventSourcing.Hosting;
using EventSourcing.Marten.Hosting;
using EventSourcing.Marten.Privacy;
using EventSourcing.Privacy;
using EventSourcing.Storage;
using EventSourcing.Tests.Shared.Postgres;
using EventSourcing.Testing.Contracts.Privacy;
using EventSourcing.Testing.Contracts.Storage;
using JasperFx;
using Marten;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace EventSourcing.Marten.Tests.Storage;

/// <summary>
/// What docs/marten.md (The schema) says happens on a fresh database under the Production environment: by default
/// (Marten's CreateOrUpdate) every table, the library's own included, exists once the host has started and none
/// before; with creation off nothing is ever created and each store says what to apply, and where.
/// </summary>
public sealed class ProductionSchemaTests(PostgresFixture postgres)
{
    private static readonly string[] EventTables = ["mt_events", "mt_streams", "mt_event_progression", "es_idempotency", "mt_doc_viewdocumentguestcard", "mt_doc_projectiongenerations", "mt_doc_generationcheckpoint"];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task By_default_every_table_is_created_when_the_host_starts_in_production(bool keyDatabase)
    {
        var events = await postgres.CreateDatabaseAsync("prod_default", Ct);
        var keys = keyDatabase ? await postgres.CreateDatabaseAsync("prod_default_keys", Ct) : events;
        using var host = Build(events, keyDatabase ? keys : null, creationOff: false);

        var eventsBefore = await TablesAsync(events);
        var keysBefore = await TablesAsync(keys);
        await host.StartAsync(Ct);
        var eventsAfterStart = await TablesAsync(events);
        var keysAfterStart = await TablesAsync(keys);
        var appended = await host.Services.GetRequiredService<IEventStore>().AppendAsync("s", ExpectedVersion.Any, [ContractEvents.Thing(1)], EventMetadata.Empty, Ct);
        var key = await host.Services.GetRequiredService<IKeyStore>().GetOrCreateAsync("subject-1", Ct);
        await host.StopAsync(Ct);

        Assert.Empty(eventsBefore);
        Assert.Empty(keysBefore);
        Assert.All(EventTables, table => Assert.Contains(table, eventsAfterStart));
        Assert.Contains(PostgresKeyStore.TableName, keysAfterStart);
        Assert.Equal(!keyDatabase, eventsAfterStart.Contains(PostgresKeyStore.TableName));
        Assert.Equal(1, appended.StreamVersion);
        Assert.Equal(32, key.Length);
    }

    [Fact]
    public async Task With_creation_off_in_production_nothing_is_created_and_each_store_says_what_to_apply_where()
    {
        var events = await postgres.CreateDatabaseAsync("prod_off", Ct);
        var keys = await postgres.CreateDatabaseAsync("prod_off_keys", Ct);
        using var host = Build(events, keys, creationOff: true);
        await host.StartAsync(Ct);
        var store = host.Services.GetRequiredService<IEventStore>();
        var keyStore = host.Services.GetRequiredService<IKeyStore>();

        var appendRefused = await Assert.ThrowsAsync<InvalidOperationException>(() => store.AppendAsync("s", ExpectedVersion.Any, [ContractEvents.Thing(1)], EventMetadata.Empty, Ct));
        var keyRefused = await Assert.ThrowsAsync<InvalidOperationException>(() => keyStore.GetOrCreateAsync("subject-1", Ct));
        var eventsAfterUse = await TablesAsync(events);
        var keysAfterUse = await TablesAsync(keys);
        await host.Services.GetRequiredService<IDocumentStore>().Storage.ApplyAllConfiguredChangesToDatabaseAsync();
        await ((PostgresKeyStore)keyStore).ApplySchemaAsync(Ct);
        var appended = await store.AppendAsync("s", ExpectedVersion.Any, [ContractEvents.Thing(1)], EventMetadata.Empty, Ct);
        var key = await keyStore.GetOrCreateAsync("subject-1", Ct);
        var eventsApplied = await TablesAsync(events);
        var keysApplied = await TablesAsync(keys);
        await host.StopAsync(Ct);

        Assert.Empty(eventsAfterUse);
        Assert.Empty(keysAfterUse);
        Assert.Contains("ApplyAllConfiguredChangesToDatabaseAsync", appendRefused.Message, StringComparison.Ordinal);
        Assert.Contains("docs/marten.md", appendRefused.Message, StringComparison.Ordinal);
        Assert.Contains(PostgresKeyStore.TableName, keyRefused.Message, StringComparison.Ordinal);
        Assert.Contains("key database", keyRefused.Message, StringComparison.Ordinal);
        Assert.Contains("PostgresKeyStore.ApplySchemaAsync", keyRefused.Message, StringComparison.Ordinal);
        Assert.All(EventTables, table => Assert.Contains(table, eventsApplied));
        Assert.DoesNotContain(PostgresKeyStore.TableName, eventsApplied);
        Assert.Equal([PostgresKeyStore.TableName], keysApplied);
        Assert.Equal(1, appended.StreamVersion);
        Assert.Equal(32, key.Length);
    }

    /// <summary>A host in the Production environment, configured as an application would be (nothing about the schema unless <paramref name="creationOff"/>).</summary>
    private static IHost Build(string events, string? keys, bool creationOff)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = Environments.Production });
        builder.Logging.ClearProviders();
        if (creationOff)
        {
            builder.Services.CritterStackDefaults(defaults => defaults.Production.ResourceAutoCreate = AutoCreate.None);
        }

        builder.Services.AddEventSourcing(es =>
        {
            ContractEvents.Registry(es.Events);
            GuestDecider.Register(es.Events);
            es.AddProjection(new GuestCardProjection());
            es.ConfigurePersonalData(options => options.MasterKey = MartenTestSetup.MasterKey);
            es.UseMarten(events);
            if (keys is not null)
            {
                es.UseKeyDatabase(keys);
            }
        });
        return builder.Build();
    }

    private static async Task<IReadOnlyList<string>> TablesAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand("select table_name from information_schema.tables where table_schema not in ('pg_catalog', 'information_schema') order by table_name", connection);
        await using var reader = await command.ExecuteReaderAsync(Ct);
        var tables = new List<string>();
        while (await reader.ReadAsync(Ct))
        {
            tables.Add(reader.GetString(0));
        }

        return tables;
    }
}
