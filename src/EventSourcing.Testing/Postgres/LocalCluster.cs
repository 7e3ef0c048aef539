using System.Globalization;
using EventSourcing.Testing.Processes;

namespace EventSourcing.Testing.Postgres;

/// <summary>
/// A PostgreSQL cluster of its own, made from the installed binaries: <c>initdb</c> into a fresh temp
/// folder, <c>pg_ctl start</c> on a free loopback port, and on dispose an immediate stop and the folder
/// deleted (see <c>LocalCluster.Cleanup.cs</c> for the fallbacks when the owner never disposes it).
/// </summary>
internal sealed partial class LocalCluster : IAsyncDisposable
{
    private const string FolderPrefix = "eventsourcing-pg-";
    private const string ServiceUser = "postgres";
    private const int PortAttempts = 3;

    private readonly string _binDirectory;
    private readonly bool _runAsServiceUser;
    private PostgresServerOptions _options = new();
    private int _port;

    private LocalCluster(string binDirectory, string root, bool runAsServiceUser)
    {
        _binDirectory = binDirectory;
        _runAsServiceUser = runAsServiceUser;
        Root = root;
        _cleanup = new ExitCleanup(StopAtExit);
    }

    /// <summary>The temp folder holding the data directory, the server log and the Unix socket.</summary>
    public string Root { get; }

    public string ConnectionString { get; private set; } = string.Empty;

    private static string Runuser => ExternalProcess.FindOnPath("runuser") ?? "/usr/sbin/runuser";

    private string DataDirectory => Path.Combine(Root, "data");

    private string LogFile => Path.Combine(Root, "server.log");

    public static async Task<LocalCluster> StartAsync(string binDirectory, PostgresServerOptions options, CancellationToken cancellationToken)
    {
        var runAsServiceUser = RunsAsRoot();
        await RemoveLeftoversAsync(binDirectory, runAsServiceUser, cancellationToken).ConfigureAwait(false);
        var cluster = new LocalCluster(binDirectory, OwnedFolder.Create(FolderPrefix), runAsServiceUser);
        try
        {
            await cluster.InitializeAsync(options, cancellationToken).ConfigureAwait(false);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>How long a start may take, as the options said.</summary>
    public TimeSpan StartTimeout => _options.StartTimeout;

    /// <summary>Stops the server, keeping its data directory and port for <see cref="StartAgainAsync"/>.</summary>
    public async Task StopAsync(PostgresStopMode mode, CancellationToken cancellationToken)
    {
        var (fileName, arguments) = StopCommand(_binDirectory, _runAsServiceUser, DataDirectory, mode);
        var result = await ExternalProcess.RunAsync(fileName, arguments, cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            throw new InvalidOperationException($"PostgreSQL did not stop.{Environment.NewLine}{result}{Environment.NewLine}{LogTail()}");
        }
    }

    /// <summary>Starts the stopped server again: the same data directory, port and settings.</summary>
    public async Task StartAgainAsync(CancellationToken cancellationToken)
    {
        var (fileName, arguments) = Command("pg_ctl", StartArguments(_port, _options));
        var result = await ExternalProcess.RunAsync(fileName, arguments, cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            throw new InvalidOperationException(
                $"PostgreSQL did not start again on port {_port.ToString(CultureInfo.InvariantCulture)}.{Environment.NewLine}{result}{Environment.NewLine}{LogTail()}");
        }
    }

    /// <summary>
    /// Stops (<c>SIGSTOP</c>) or continues (<c>SIGCONT</c>) the postmaster and then every server process it started, by
    /// their ids: stopped, the server still accepts connections (the kernel does) but answers nothing.
    /// </summary>
    public async Task SignalAsync(string signal, CancellationToken cancellationToken)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("Pausing the server needs Linux (/proc and kill).");
        }

        var pidFile = await File.ReadAllLinesAsync(Path.Combine(DataDirectory, "postmaster.pid"), cancellationToken).ConfigureAwait(false);
        var postmaster = int.Parse(pidFile[0], CultureInfo.InvariantCulture);
        await KillAsync(signal, [postmaster.ToString(CultureInfo.InvariantCulture)], cancellationToken).ConfigureAwait(false);
        var children = (await File.ReadAllTextAsync($"/proc/{postmaster}/task/{postmaster}/children", cancellationToken).ConfigureAwait(false))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (children.Length > 0)
        {
            await KillAsync(signal, children, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task KillAsync(string signal, IEnumerable<string> processIds, CancellationToken cancellationToken)
    {
        var result = await ExternalProcess.SignalAsync(signal, processIds, cancellationToken).ConfigureAwait(false);
        var gone = result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).All(line => line.Contains("No such process", StringComparison.Ordinal));
        if (!result.Succeeded && !gone)
        {
            // A backend that ended between listing and signalling is no failure; anything else is.
            throw new InvalidOperationException($"Could not send {signal} to the PostgreSQL server.{Environment.NewLine}{result}{Environment.NewLine}{LogTail()}");
        }
    }

    /// <summary>The last lines of the server log, for error messages.</summary>
    public string LogTail(int lines = 30)
    {
        try
        {
            var tail = File.ReadLines(LogFile).TakeLast(lines);
            return $"Last lines of {LogFile}:{Environment.NewLine}{string.Join(Environment.NewLine, tail)}";
        }
        catch (IOException exception)
        {
            return $"(no server log: {exception.Message})";
        }
        catch (UnauthorizedAccessException exception)
        {
            return $"(no server log: {exception.Message})";
        }
    }

    private static bool RunsAsRoot() =>
        !OperatingSystem.IsWindows() && string.Equals(Environment.UserName, "root", StringComparison.Ordinal);

    private async Task InitializeAsync(PostgresServerOptions options, CancellationToken cancellationToken)
    {
        if (_runAsServiceUser)
        {
            await HandRootToServiceUserAsync(cancellationToken).ConfigureAwait(false);
        }

        var (initdb, initdbArguments) = Command(
            "initdb", ["-D", DataDirectory, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-locale", "--no-sync"]);
        var initialized = await ExternalProcess.RunAsync(initdb, initdbArguments, cancellationToken).ConfigureAwait(false);
        if (!initialized.Succeeded)
        {
            throw new InvalidOperationException($"initdb failed.{Environment.NewLine}{initialized}");
        }

        for (var attempt = 1; ; attempt++)
        {
            var port = LoopbackPort.Free();
            var (fileName, arguments) = Command("pg_ctl", StartArguments(port, options));
            var result = await ExternalProcess.RunAsync(fileName, arguments, cancellationToken).ConfigureAwait(false);
            if (result.Succeeded)
            {
                (_port, _options) = (port, options);
                ConnectionString = $"Host=127.0.0.1;Port={port.ToString(CultureInfo.InvariantCulture)};Username=postgres;Database=postgres";
                return;
            }

            // Another process can take the port between probing and binding: try a fresh one.
            var log = LogTail();
            if (attempt == PortAttempts || !log.Contains("could not bind", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException(
                    $"PostgreSQL did not start from {_binDirectory}.{Environment.NewLine}{result}{Environment.NewLine}{log}");
            }
        }
    }

    /// <summary>initdb and pg_ctl refuse to run as root: the cluster belongs to the postgres account.</summary>
    private async Task HandRootToServiceUserAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(Runuser))
        {
            throw new InvalidOperationException(
                "This process runs as root, and initdb/pg_ctl refuse to: they are run through `runuser -u postgres`, " +
                "but runuser is missing (install util-linux) — or run the tests as an ordinary user.");
        }

        var chown = await ExternalProcess.RunAsync("chown", ["-R", ServiceUser, Root], cancellationToken).ConfigureAwait(false);
        if (!chown.Succeeded)
        {
            throw new InvalidOperationException(
                $"Running as root: could not give {Root} to the '{ServiceUser}' account (create it, e.g. by installing " +
                $"the postgresql package, or run the tests as an ordinary user).{Environment.NewLine}{chown}");
        }
    }

    private static (string FileName, IEnumerable<string> Arguments) Command(
        string binDirectory, bool runAsServiceUser, string program, IEnumerable<string> arguments)
    {
        var path = PostgresBinaries.Program(binDirectory, program);
        return runAsServiceUser
            ? (Runuser, ["-u", ServiceUser, "--", path, .. arguments])
            : (path, arguments);
    }

    private (string FileName, IEnumerable<string> Arguments) Command(string program, IEnumerable<string> arguments) =>
        Command(_binDirectory, _runAsServiceUser, program, arguments);

    private string[] StartArguments(int port, PostgresServerOptions options)
    {
        var settings = string.Join(
            ' ',
            "-c fsync=off -c full_page_writes=off -c listen_addresses=127.0.0.1",
            // Without waiting for the WAL at commit, an immediate stop loses the last commits: a restartable server must not.
            $"-c synchronous_commit={(options.Restartable ? "on" : "off")}",
            $"-p {port.ToString(CultureInfo.InvariantCulture)}",
            OperatingSystem.IsWindows() ? string.Empty : $"-c unix_socket_directories='{Root}'",
            $"-c max_connections={options.MaxConnections.ToString(CultureInfo.InvariantCulture)}",
            string.Join(' ', options.SettingPairs(OperatingSystem.IsWindows() ? "\"" : "'").Select(pair => $"-c {pair}")));
        var timeout = Math.Max(1, (int)options.StartTimeout.TotalSeconds).ToString(CultureInfo.InvariantCulture);
        return ["-D", DataDirectory, "-l", LogFile, "-w", "-t", timeout, "-o", settings, "start"];
    }
}
