using EventSourcing.Hosting;
using EventSourcing.Projections;
using EventSourcing.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace EventSourcing.Testing.Contracts.Projections;

/// <summary>An application's container with its hosted services (projection runner or daemon) started, for projection tests.</summary>
public sealed class ProjectionHost : IAsyncDisposable
{
    private readonly ServiceProvider _services;
    private readonly List<IHostedService> _started = [];
    private int _disposed;

    private ProjectionHost(ServiceProvider services) => _services = services;

    /// <summary>The application's services.</summary>
    public IServiceProvider Services => _services;

    /// <summary>The application's event store.</summary>
    public IEventStore Store => _services.GetRequiredService<IEventStore>();

    /// <summary>The application's view reader.</summary>
    public IViewReader Views => _services.GetRequiredService<IViewReader>();

    /// <summary>The application's projection store.</summary>
    public IProjectionStore ProjectionStore => _services.GetRequiredService<IProjectionStore>();

    /// <summary>The application's projection rebuilder.</summary>
    public ProjectionRebuilder Rebuilder => _services.GetRequiredService<ProjectionRebuilder>();

    /// <summary>The application's projection verifier.</summary>
    public ProjectionVerifier Verifier => _services.GetRequiredService<ProjectionVerifier>();

    /// <summary>
    /// Builds an application's container: logging, then <paramref name="configureServices"/> (the store's registration),
    /// then <see cref="ServiceCollectionExtensions.AddEventSourcing"/> configured by <paramref name="configure"/>;
    /// and starts its hosted services unless <paramref name="startHostedServices"/> is false.
    /// </summary>
    public static async Task<ProjectionHost> StartAsync(Action<EventSourcingBuilder> configure, bool startHostedServices = true, Action<IServiceCollection>? configureServices = null)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        configureServices?.Invoke(services);
        services.AddEventSourcing(configure);
        var host = new ProjectionHost(services.BuildServiceProvider());
        if (startHostedServices)
        {
            await host.StartHostedServicesAsync();
        }

        return host;
    }

    /// <summary>Starts the container's hosted services (projection runners or daemon, reactors), in registration order.</summary>
    public async Task StartHostedServicesAsync()
    {
        foreach (var service in _services.GetServices<IHostedService>())
        {
            await service.StartAsync(TestContext.Current.CancellationToken);
            _started.Add(service);
        }
    }

    /// <summary>Waits until every named projection has passed <paramref name="position"/>, failing the test after 30 s.</summary>
    public async Task WaitForAsync(long position, params string[] projections)
    {
        foreach (var projection in projections)
        {
            Assert.True(await Views.WaitForPositionAsync(projection, position, TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken), $"{projection} did not reach {position}");
        }
    }

    /// <summary>
    /// The projection's status once <paramref name="until"/> holds, looked at again whenever a checkpoint may have moved;
    /// after <paramref name="timeout"/>, its last status, for the test to assert on.
    /// </summary>
    public async Task<ProjectionStatus> WaitForStatusAsync(string projection, Func<ProjectionStatus, bool> until, TimeSpan timeout)
    {
        var reader = _services.GetRequiredService<ProjectionStatusReader>();
        var deadline = DateTimeOffset.UtcNow + timeout;
        while (true)
        {
            var status = (await reader.ReadAsync(TestContext.Current.CancellationToken)).Single(s => s.Name == projection);
            if (until(status) || DateTimeOffset.UtcNow >= deadline)
            {
                return status;
            }

            await ProjectionStore.WaitForChangeAsync(TimeSpan.FromMilliseconds(100), TestContext.Current.CancellationToken);
        }
    }

    /// <summary>Stops the started hosted services, in reverse order, and disposes of the container.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return; // stopped already: a test may stop one node before the rest
        }

        foreach (var service in Enumerable.Reverse(_started))
        {
            await service.StopAsync(CancellationToken.None);
        }

        await _services.DisposeAsync();
    }
}
