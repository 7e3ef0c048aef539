using System.Security.Cryptography;
using EventSourcing.Tests.Shared.Samples;
using Marten;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Reservations.Tests.Faults;

/// <summary>The sample API as a process on a PostgreSQL database, deployed as in production: the schema applied ahead of time, a master key, an admin key.</summary>
public static class SampleOnPostgres
{
    public const string AdminKey = "fault-tests-admin-key";

    /// <summary>How long the sample may take to start listening.</summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private static readonly string MasterKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    /// <summary>Applies the sample's schema to the database, with the sample's own registrations.</summary>
    public static async Task ApplySchemaAsync(string connectionString)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(Settings(connectionString, seatsPerDay: 40)).Build();
        var services = new ServiceCollection().AddLogging().AddSingleton<IConfiguration>(configuration);
        services.AddReservations(configuration);
        await using var provider = services.BuildServiceProvider();
        await provider.GetRequiredService<IDocumentStore>().Storage.ApplyAllConfiguredChangesToDatabaseAsync();
    }

    /// <summary>
    /// Starts the sample on the database, listening on <paramref name="port"/> (0: any free port), with
    /// <paramref name="settings"/> (configuration keys such as <c>Nats:Url</c>) on top of the deployment's.
    /// </summary>
    public static Task<SampleProcess> StartAsync(string connectionString, int seatsPerDay, int port = 0, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var configuration = Settings(connectionString, seatsPerDay);
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            configuration[key] = value;
        }

        var environment = configuration.ToDictionary(s => s.Key.Replace(":", "__", StringComparison.Ordinal), s => s.Value);
        environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        return SampleProcess.StartApiAsync(environment, StartTimeout, TestContext.Current.CancellationToken);
    }

    /// <summary>A loopback port free right now, for a sample that must come back on the same address.</summary>
    public static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static Dictionary<string, string?> Settings(string connectionString, int seatsPerDay) => new()
    {
        ["ConnectionStrings:Postgres"] = connectionString,
        ["EventSourcing:PersonalData:MasterKey"] = MasterKey,
        ["Admin:ApiKey"] = AdminKey,
        ["Reservations:SeatsPerDay"] = seatsPerDay.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Logging:LogLevel:Default"] = "Warning",
        ["Logging:LogLevel:EventSourcing.Reactors"] = "Information", // says when the process starts running the reactor
        ["Logging:LogLevel:EventSourcing.Deciders"] = "Debug", // says when a command was applied already, or conflicted: a reaction repeated or made late
        ["RateLimiting:Writes:Enabled"] = "false", // the load's clients all come from 127.0.0.1; the limit has tests of its own (Security/)
    };
}
