using EventSourcing.Testing.Processes;

namespace EventSourcing.Testing.Postgres;

/// <summary>Finds the installed PostgreSQL server programs (<c>initdb</c>, <c>pg_ctl</c>).</summary>
internal static class PostgresBinaries
{
    /// <summary>The environment variable naming the folder that holds <c>initdb</c> and <c>pg_ctl</c>.</summary>
    public const string BinDirectoryVariable = "PG_BIN";

    private const string DebianRoot = "/usr/lib/postgresql";

    /// <summary>
    /// The folder with the server programs: the explicit one, else <c>PG_BIN</c>, else the highest
    /// <c>/usr/lib/postgresql/N/bin</c>, else <c>pg_config --bindir</c>, else where <c>initdb</c> is on the PATH;
    /// <see langword="null"/> when none holds them.
    /// </summary>
    public static async Task<string?> FindAsync(string? explicitDirectory, CancellationToken cancellationToken)
    {
        var configured = explicitDirectory ?? Environment.GetEnvironmentVariable(BinDirectoryVariable);
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return HoldsServer(configured)
                ? configured
                : throw new InvalidOperationException(
                    $"'{configured}' (from {(explicitDirectory is null ? BinDirectoryVariable : nameof(PostgresServerOptions.BinDirectory))}) " +
                    "does not contain the PostgreSQL server programs initdb and pg_ctl.");
        }

        return DebianDirectories().FirstOrDefault(HoldsServer)
            ?? await FromPgConfigAsync(cancellationToken).ConfigureAwait(false)
            ?? FromPath();
    }

    public static string Program(string directory, string name) => Path.Combine(directory, ExternalProcess.ExecutableName(name));

    private static bool HoldsServer(string directory) =>
        File.Exists(Program(directory, "initdb")) && File.Exists(Program(directory, "pg_ctl"));

    /// <summary>Debian and Ubuntu install each major version side by side: highest first.</summary>
    private static IEnumerable<string> DebianDirectories()
    {
        if (!Directory.Exists(DebianRoot))
        {
            return [];
        }

        return Directory.EnumerateDirectories(DebianRoot)
            .Select(directory => (Directory: directory, Version: ParseVersion(Path.GetFileName(directory))))
            .Where(candidate => candidate.Version is not null)
            .OrderByDescending(candidate => candidate.Version)
            .Select(candidate => Path.Combine(candidate.Directory, "bin"));
    }

    private static Version? ParseVersion(string name) =>
        int.TryParse(name, out var major) ? new Version(major, 0)
        : Version.TryParse(name, out var version) ? version
        : null;

    private static async Task<string?> FromPgConfigAsync(CancellationToken cancellationToken)
    {
        var pgConfig = ExternalProcess.FindOnPath("pg_config");
        if (pgConfig is null)
        {
            return null;
        }

        try
        {
            var result = await ExternalProcess.RunAsync(pgConfig, ["--bindir"], cancellationToken).ConfigureAwait(false);
            var directory = result.Output.Trim();
            return result.Succeeded && HoldsServer(directory) ? directory : null;
        }
        catch (InvalidOperationException)
        {
            return null;   // pg_config is there but cannot run: look further
        }
    }

    private static string? FromPath()
    {
        var initdb = ExternalProcess.FindOnPath("initdb");
        var directory = initdb is null ? null : Path.GetDirectoryName(initdb);
        return directory is not null && HoldsServer(directory) ? directory : null;
    }
}
