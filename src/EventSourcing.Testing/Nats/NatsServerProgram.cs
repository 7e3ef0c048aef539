using EventSourcing.Testing.Processes;

namespace EventSourcing.Testing.Nats;

/// <summary>Finds the installed <c>nats-server</c> program.</summary>
internal static class NatsServerProgram
{
    private const string Name = "nats-server";
    private static readonly string[] SystemDirectories = ["/usr/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/sbin"];

    /// <summary>The explicit path when given (it must exist), else the PATH, else the usual system folders.</summary>
    public static string? Find(string? explicitPath)
    {
        if (!string.IsNullOrWhiteSpace(explicitPath))
        {
            return File.Exists(explicitPath)
                ? explicitPath
                : throw new InvalidOperationException($"'{explicitPath}' (NatsServerOptions.ServerPath) does not exist.");
        }

        return ExternalProcess.FindOnPath(Name)
            ?? SystemDirectories
                .Select(directory => Path.Combine(directory, ExternalProcess.ExecutableName(Name)))
                .FirstOrDefault(File.Exists);
    }
}
