using Spectre.Console;

namespace EventSourcing.Cli;

/// <summary>
/// The verbs under their former name, kept for applications that call <see cref="RunProjectionsCommandAsync"/>: it runs
/// the same verbs as <see cref="FollowersCommand.RunFollowersCommandAsync"/>, selected by <c>projections</c> or
/// <c>followers</c>.
/// </summary>
public static class ProjectionsCommand
{
    /// <summary>The first argument that selects these verbs under their former name (<c>followers</c> does too).</summary>
    public const string Verb = FollowersCommand.ProjectionsVerb;

    /// <summary>Exit code: done.</summary>
    public const int Done = FollowersCommand.Done;

    /// <summary>Exit code: failed, or verify found differences.</summary>
    public const int Failed = FollowersCommand.Failed;

    /// <summary>Exit code: bad usage.</summary>
    public const int BadUsage = FollowersCommand.BadUsage;

    /// <summary>
    /// Runs the verb in <paramref name="args"/> when the first argument is <c>projections</c> or <c>followers</c> and
    /// returns its exit code; null otherwise. The same as <see cref="FollowersCommand.RunFollowersCommandAsync"/>.
    /// </summary>
    public static Task<int?> RunProjectionsCommandAsync(this IServiceProvider services, string[] args, IAnsiConsole? console = null, CancellationToken cancellationToken = default) =>
        services.RunFollowersCommandAsync(args, console, cancellationToken);
}
