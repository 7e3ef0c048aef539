using EventSourcing.Cli;
using Microsoft.AspNetCore.Builder;

namespace EventSourcing.Docs.Tests.Snippets.Readme;

// README.md, "The followers tool": the lines of an application's Program.cs that run the followers verbs.
internal static class FollowersTool
{
    public static async Task<int> MainAsync(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        var app = builder.Build();
        if (await app.Services.RunFollowersCommandAsync(args) is { } exitCode)
        {
            return exitCode;            // `followers ...` ran instead of the web host
        }

        await app.RunAsync();
        return 0;
    }
}
