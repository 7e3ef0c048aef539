using EventSourcing.Hosting;
using EventSourcing.Marten.Hosting;
using EventSourcing.Marten.Privacy;
using EventSourcing.Privacy;
using JasperFx;
using Marten;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Weasel.Core.Migrations;

namespace EventSourcing.Docs.Tests.Snippets.Marten;

// docs/marten.md, "The schema": turning creation at run time off, and applying the schema ahead of time with the
// application's own registrations.
internal static class Schema
{
    public static void TurnOff(IServiceCollection services, string connectionString)
    {
        services.AddEventSourcing(es => es.UseMarten(connectionString, marten => marten.AutoCreateSchemaObjects = AutoCreate.None));

        services.CritterStackDefaults(defaults => defaults.Production.ResourceAutoCreate = AutoCreate.None);   // or per environment
    }

    public static async Task ApplyAsync(IHost app, CancellationToken cancellationToken)
    {
        var store = app.Services.GetRequiredService<IDocumentStore>();
        await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();            // apply now (es_* tables included), or
        await store.Storage.Database.WriteMigrationFileAsync("schema.sql", cancellationToken);   // write the SQL for a DBA to review

        var keys = (PostgresKeyStore)app.Services.GetRequiredService<IKeyStore>();
        await keys.ApplySchemaAsync(cancellationToken);                            // with UseKeyDatabase: the key table, there
    }
}
