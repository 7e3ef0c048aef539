using System.Text.Json;
using EventSourcing.Tests.Shared.Postgres;
using EventSourcing.Tests.Shared.Samples;

namespace EventSourcing.Cli.Tests;

/// <summary>
/// The verbs with <c>--json</c> as a script runs them, piping standard output into a JSON reader: the sample's own
/// process on PostgreSQL, in Development without a master key, so that it logs a warning (the fixed development key).
/// Standard output must hold the JSON alone; log lines go to standard error.
/// </summary>
public sealed class JsonOutputProcessTests(PostgresFixture postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("status", "--json")]
    [InlineData("verify", "--all", "--json")]
    [InlineData("dead-letters", "reservation-details", "--json")]
    public async Task A_verb_with_json_writes_the_json_alone_to_standard_output_and_log_lines_to_standard_error(params string[] verb)
    {
        var connectionString = await postgres.CreateDatabaseAsync("cli_json", Ct);
        using var process = SampleProcess.Start(["followers", .. verb], new Dictionary<string, string?>
        {
            ["DOTNET_ENVIRONMENT"] = "Development",
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            ["ConnectionStrings__Postgres"] = connectionString,
        });
        var output = process.StandardOutput.ReadToEndAsync(Ct);
        var errors = process.StandardError.ReadToEndAsync(Ct);
        await process.WaitForExitAsync(Ct);
        var (stdout, stderr) = (await output, await errors);

        using var json = TryParse(stdout); // as `| jq` reads it: anything before or after the JSON fails it

        Assert.True(process.ExitCode == 0, $"exit code {process.ExitCode}\nstdout:\n{stdout}\nstderr:\n{stderr}");
        Assert.True(json is not null, $"Standard output is not JSON alone:\n{stdout}");
        Assert.Equal(JsonValueKind.Array, json.RootElement.ValueKind);
        Assert.Contains("No personal-data master key is configured", stderr, StringComparison.Ordinal); // the warning was logged, there
    }

    private static JsonDocument? TryParse(string text)
    {
        try
        {
            return JsonDocument.Parse(text);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
