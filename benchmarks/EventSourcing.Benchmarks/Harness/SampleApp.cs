using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using EventSourcing.Benchmarks.Scenarios;

namespace EventSourcing.Benchmarks.Harness;

/// <summary>The sample API's build output, started as its own process on a free loopback port.</summary>
internal sealed class SampleApp(string assembly)
{
#if DEBUG
    public const string Configuration = "Debug";
#else
    public const string Configuration = "Release";
#endif

    public static async Task<SampleApp> LocateAsync(BenchmarkContext context, CancellationToken cancellationToken)
    {
        if (context.SampleAssembly is { } built)
        {
            return File.Exists(built) ? new SampleApp(built) : throw new InvalidOperationException($"--sample: {built} does not exist.");
        }

        var root = Program.RepositoryRoot();
        var project = Path.Combine(root, "samples", "Reservations", "Reservations.csproj");
        var assembly = Path.Combine(root, "samples", "Reservations", "bin", Configuration, "net10.0", "Reservations.dll");
        context.Log($"building the sample ({Configuration})...");
        var build = new ProcessStartInfo(RebuildScenario.DotnetHost()) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { "build", project, "-c", Configuration, "--nologo", "-v", "q" })
        {
            build.ArgumentList.Add(argument);
        }

        using var process = Process.Start(build) ?? throw new InvalidOperationException("Could not run dotnet build.");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        return process.ExitCode == 0 && File.Exists(assembly)
            ? new SampleApp(assembly)
            : throw new InvalidOperationException($"Building the sample failed: {await output.ConfigureAwait(false)}");
    }

    public Task<RunningApp> StartAsync(string? postgres, BenchmarkContext context, CancellationToken cancellationToken) =>
        StartAsync(postgres, context, settings: null, cancellationToken);

    /// <summary>Starts the sample on <paramref name="postgres"/> (in memory when null) with further configuration (<c>Section__Key</c> environment variables).</summary>
    public async Task<RunningApp> StartAsync(string? postgres, BenchmarkContext context, IReadOnlyDictionary<string, string>? settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var port = FreePort();
        var info = new ProcessStartInfo(RebuildScenario.DotnetHost()) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(assembly);
        info.ArgumentList.Add("--urls");
        info.ArgumentList.Add($"http://127.0.0.1:{port}");
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Development";
        info.Environment["Logging__LogLevel__Default"] = "Warning";
        info.Environment["ConnectionStrings__Postgres"] = postgres ?? string.Empty;
        foreach (var (key, value) in SampleSettings.Concat(settings ?? new Dictionary<string, string>()))
        {
            info.Environment[key] = value;
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start the sample.");
        var app = new RunningApp(process, new Uri($"http://127.0.0.1:{port}"));
        try
        {
            await app.WaitUntilHealthyAsync(TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
            context.Log($"sample started on {app.Address} ({(postgres is null ? "in-memory store" : "PostgreSQL")})");
            return app;
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The sample's settings for a throughput run: the write rate limit off (it would measure the limiter).</summary>
    private static readonly Dictionary<string, string> SampleSettings = new(StringComparer.Ordinal)
    {
        ["RateLimiting__Writes__Enabled"] = "false",
    };

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>The sample's running process: its address, a health wait, and a stop that returns what it logged.</summary>
internal sealed class RunningApp(Process process, Uri address) : IAsyncDisposable
{
    private readonly Task<string> _errors = process.StandardError.ReadToEndAsync();
    private readonly Task<string> _output = process.StandardOutput.ReadToEndAsync();

    public Uri Address { get; } = address;

    public int ProcessId => process.Id;

    /// <summary>The CPU time (user and system) the sample's process has used so far.</summary>
    public TimeSpan ProcessorTime
    {
        get
        {
            process.Refresh();
            return process.TotalProcessorTime;
        }
    }

    public async Task WaitUntilHealthyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var client = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(5) };
        var watch = Stopwatch.StartNew();
        using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(200));
        while (watch.Elapsed < timeout)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The sample exited with {process.ExitCode}: {await _errors.ConfigureAwait(false)}{await _output.ConfigureAwait(false)}");
            }

            try
            {
                using var response = await client.GetAsync(new Uri("/health", UriKind.Relative), cancellationToken).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }

            await tick.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false);
        }

        throw new TimeoutException($"The sample did not become healthy within {timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s.");
    }

    /// <summary>Stops the sample and returns what it wrote (its log: warnings and errors).</summary>
    public async Task<string> StopAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync().ConfigureAwait(false);
        }

        return await _output.ConfigureAwait(false) + await _errors.ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        process.Dispose();
    }
}
