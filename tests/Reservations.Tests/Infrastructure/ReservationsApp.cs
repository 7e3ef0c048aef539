using System.Security.Cryptography;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;

namespace Reservations.Tests.Infrastructure;

/// <summary>
/// The sample API in memory (TestServer): on the in-memory store, or on PostgreSQL when a connection string is given.
/// The host runs as Development (Marten creates its schema), with a random personal-data master key per test process
/// and the settings a test asks for (<c>Reservations:SeatsPerDay</c>, <c>Admin:ApiKey</c>, ...).
/// </summary>
public sealed class ReservationsApp(string? postgresConnectionString, IReadOnlyDictionary<string, string?> settings, Func<Task>? afterDispose = null)
    : WebApplicationFactory<Program>
{
    /// <summary>The admin API key the tests configure when they need the admin endpoints.</summary>
    public const string AdminKey = "reservations-tests-admin-key";

    private static readonly string MasterKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (afterDispose is not null)
        {
            await afterDispose();
        }
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        var configuration = new Dictionary<string, string?>
        {
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
            ["Logging:LogLevel:Reservations"] = "Error", // not the warning that admin endpoints are closed, on every start
            ["EventSourcing:PersonalData:MasterKey"] = MasterKey,
            ["ConnectionStrings:Postgres"] = postgresConnectionString,
        };
        foreach (var (key, value) in settings)
        {
            configuration[key] = value;
        }

        // Host settings are in place before Program reads the connection string (application configuration added
        // here is not: Program has read it by then); the same values as application configuration override appsettings.json.
        foreach (var (key, value) in configuration)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureAppConfiguration(config => config.AddInMemoryCollection(configuration));
    }
}
