using Marten;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Weasel.Core.Migrations;

namespace EventSourcing.Docs.Tests.Snippets.Marten;

// docs/marten.md, "The schema": applying the schema ahead of time, with the application's own registrations.
internal static class Schema
{
    public static async Task ApplyAsync(IHost app)
    {
        var store = app.Services.GetRequiredService<IDocumentStore>();
        await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();            // apply now, or
        await store.Storage.Database.WriteMigrationFileAsync("schema.sql");       // write the SQL for a DBA to review
    }
}
