using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.Mvc.Testing.Handlers;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Reservations.Tests.OpenApi;

namespace Reservations.Tests.Infrastructure;

/// <summary>
/// What a test asks of its app: settings (<c>Reservations:SeatsPerDay</c>, <c>Admin:ApiKey</c>, ...), services added
/// after the app's own (a log collector), and whether it is served over real TCP by Kestrel on a loopback port instead
/// of in memory (for what only a real connection shows: the client's address, the server's own headers).
/// </summary>
public sealed record AppSetup(IReadOnlyDictionary<string, string?>? Settings = null, Action<IServiceCollection>? Services = null, bool OverTcp = false);

/// <summary>
/// The sample API in memory (TestServer) or on Kestrel: on the in-memory store, or on PostgreSQL when a connection string
/// is given. The host runs as Development (Marten creates its schema) unless the settings say otherwise
/// (<c>environment</c>), with a random personal-data master key per test process and the test's <see cref="AppSetup"/>.
/// The clients it makes check every response against the committed OpenAPI document.
/// </summary>
public sealed class ReservationsApp(string? postgresConnectionString, AppSetup setup, Func<Task>? afterDispose = null)
    : WebApplicationFactory<Program>
{
    /// <summary>The admin API key the tests configure when they need the admin endpoints.</summary>
    public const string AdminKey = "reservations-tests-admin-key";

    private static readonly string MasterKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    /// <summary>Starts the server: in memory, or Kestrel on a free port of 127.0.0.1.</summary>
    public void Start()
    {
        if (setup.OverTcp)
        {
            UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        }

        StartServer();
    }

    /// <summary>
    /// A client whose connections come from <paramref name="localAddress"/> (any of 127.0.0.0/8), so the app sees
    /// another remote address per client, as it would see other machines. Only for an app served over TCP.
    /// </summary>
    public HttpClient CreateClientFrom(IPAddress localAddress)
    {
        if (!setup.OverTcp)
        {
            throw new InvalidOperationException("Only an app served over TCP (AppSetup.OverTcp) sees the clients' addresses.");
        }

        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    socket.Bind(new IPEndPoint(localAddress, 0));
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        var address = Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        return new HttpClient(new OpenApiResponseCheck { InnerHandler = handler }) { BaseAddress = new Uri(address) };
    }

    /// <summary>
    /// A client of the app, as <see cref="WebApplicationFactory{TEntryPoint}.CreateClient()"/> makes it (following
    /// redirects, keeping cookies), whose every response is checked against the committed OpenAPI document
    /// (<see cref="OpenApiResponseCheck"/>).
    /// </summary>
    public new HttpClient CreateClient() => CreateClient(ClientOptions);

    /// <summary>
    /// A client of the app with <paramref name="options"/>, as
    /// <see cref="WebApplicationFactory{TEntryPoint}.CreateClient(WebApplicationFactoryClientOptions)"/> makes it, whose
    /// every response is checked against the committed OpenAPI document (<see cref="OpenApiResponseCheck"/>).
    /// </summary>
    public new HttpClient CreateClient(WebApplicationFactoryClientOptions options)
    {
        var handlers = new List<DelegatingHandler>();
        if (options.AllowAutoRedirect)
        {
            handlers.Add(new RedirectHandler(options.MaxAutomaticRedirections));
        }

        if (options.HandleCookies)
        {
            handlers.Add(new CookieContainerHandler());
        }

        handlers.Add(new OpenApiResponseCheck()); // innermost: it sees each response with the request that got it
        return CreateDefaultClient(options.BaseAddress, [.. handlers]);
    }

    public override async ValueTask DisposeAsync()
    {
        try
        {
            await base.DisposeAsync();
        }
        finally
        {
            if (afterDispose is not null)
            {
                await afterDispose(); // the database goes even when the app did not stop cleanly
            }
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

            // These apps' tests are about outcomes, not latency: a request answers within a minute, not the sample's 10 s,
            // which a machine busy with the other test assemblies beside them can take. The fault tests run the sample as
            // a process of its own with its 10 s deadline, and assert on it.
            ["Reservations:RequestTimeout"] = "00:01:00",
        };
        foreach (var (key, value) in setup.Settings ?? new Dictionary<string, string?>())
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
        if (setup.Services is { } services)
        {
            builder.ConfigureTestServices(services);
        }
    }
}
