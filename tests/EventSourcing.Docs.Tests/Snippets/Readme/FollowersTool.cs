using EventSourcing.Cli;
using Microsoft.AspNetCore.Builder;

namespace EventSourcing.Docs.Tests.Snippets.Readme;

// README.md, "The followers tool": the lines of an application's Program.cs that run the followers verbs.
internal static class FollowersTool
{
    public static async Task<int> MainAsync(string[] args)
    {
        var followersCommand = FollowersCommand.Handles(args);     // `followers ...` (or `projections ...`)
        var builder = WebApplication.CreateBuilder(followersCommand ? [] : args);
        if (followersCommand)
        {
            builder.UseFollowersCommandLogging();  // log lines to standard error, warnings and errors only
        }

        // ... the application's services ...
        var app = builder.Build();
        if (await app.Services.RunFollowersCommandAsync(args) is { } exitCode)
        {
            await app.DisposeAsync();   // writes out the log lines still queued
            return exitCode;            // `followers ...` ran instead of the web host
        }

        await app.RunAsync();
        return 0;
    }
}
