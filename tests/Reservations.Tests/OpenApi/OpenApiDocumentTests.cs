using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.OpenApi;

/// <summary>
/// The OpenAPI document is committed (<c>samples/Reservations/openapi.json</c>) so that a change to the contract shows in
/// review, and it passes a maintained linter (Redocly CLI, with <c>tools/openapi/redocly.yaml</c>).
/// </summary>
public sealed class OpenApiDocumentTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_committed_document_is_the_one_the_API_serves()
    {
        var served = await ServedDocumentAsync();
        var committed = Path.Combine(Repository.Root, "samples", "Reservations", "openapi.json");
        var received = Path.Combine(Repository.Root, "samples", "Reservations", "openapi.received.json");

        if (File.Exists(committed) && JsonNode.DeepEquals(JsonNode.Parse(await File.ReadAllTextAsync(committed, Ct)), JsonNode.Parse(served)))
        {
            File.Delete(received);
            return;
        }

        await File.WriteAllTextAsync(received, served, Ct);
        Assert.Fail($"The API's OpenAPI document is not the committed one. Compare {received} with {committed}; if the change to the contract is meant, copy the first over the second.");
    }

    [Fact]
    public async Task The_document_passes_the_Redocly_linter_without_errors_or_warnings()
    {
        var document = Path.Combine(Path.GetTempPath(), $"reservations-openapi-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(document, await ServedDocumentAsync(), Ct);
        try
        {
            var (exitCode, output, errors) = await OpenApiTools.RedoclyAsync(["lint", document, "--config", OpenApiTools.RedoclyConfig, "--format", "json", "--max-problems", "200"], Ct);

            var report = JsonNode.Parse(output)!;
            var problems = string.Join('\n', report["problems"]!.AsArray().Select(p => $"{p!["severity"]} {p["ruleId"]} at {p["location"]![0]!["pointer"]}: {p["message"]}"));
            Assert.True(exitCode == 0, $"Redocly exited with {exitCode}:\n{problems}\n{errors}");
            Assert.Equal(0, (int)report["totals"]!["errors"]!);
            Assert.True((int)report["totals"]!["warnings"]! == 0, $"Redocly warns:\n{problems}");
        }
        finally
        {
            File.Delete(document);
        }
    }

    /// <summary>The document as the API serves it (in memory; the store does not change it).</summary>
    public static async Task<string> ServedDocumentAsync()
    {
        await using var app = new ReservationsApp(null, new AppSetup());
        app.Start();
        using var client = app.CreateClient();
        using var response = await client.GetAsync(ReservationsApi.Url("/openapi/v1.json"), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync(Ct);
    }
}

/// <summary>The repository's folders, found from the test assembly.</summary>
public static class Repository
{
    /// <summary>The first folder above the test assembly that holds EventSourcing.sln.</summary>
    public static string Root { get; } = Find();

    private static string Find()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "EventSourcing.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException($"No folder above {AppContext.BaseDirectory} holds EventSourcing.sln.");
    }
}

/// <summary>The OpenAPI tools the build installs under <c>tools/openapi</c> (npm ci): Redocly CLI.</summary>
public static class OpenApiTools
{
    public static string Folder => Path.Combine(Repository.Root, "tools", "openapi");

    public static string RedoclyConfig => Path.Combine(Folder, "redocly.yaml");

    /// <summary>Runs Redocly CLI with <paramref name="arguments"/>; its exit code, standard output and standard error.</summary>
    public static async Task<(int ExitCode, string Output, string Errors)> RedoclyAsync(IEnumerable<string> arguments, CancellationToken cancellationToken)
    {
        var cli = Path.Combine(Folder, "node_modules", "@redocly", "cli", "bin", "cli.js");
        if (!File.Exists(cli))
        {
            throw new InvalidOperationException($"Redocly CLI is not installed at {cli}: building Reservations.Tests runs `npm ci` in {Folder}, which needs Node.js 20 or later and npm.");
        }

        var start = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Folder };
        start.ArgumentList.Add(cli);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["REDOCLY_TELEMETRY"] = "off";
        start.Environment["REDOCLY_SUPPRESS_UPDATE_NOTICE"] = "true";
        start.Environment["NO_COLOR"] = "1";
        using var process = Process.Start(start) ?? throw new InvalidOperationException("node did not start.");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var errors = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        return (process.ExitCode, await output, await errors);
    }
}
