using System.Text.Json;
using EventSourcing.Benchmarks;
using EventSourcing.Tests.Shared.Postgres;
using Spectre.Console.Testing;

namespace EventSourcing.Benchmarks.Tests;

/// <summary>
/// Every benchmark scenario runs end to end in its quick mode (small sizes), against the tests' PostgreSQL server,
/// and writes a results file with figures, so the harness cannot rot between measurement runs.
/// </summary>
public sealed class QuickRunTests(PostgresFixture postgres) : IDisposable
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly DirectoryInfo _results = Directory.CreateTempSubdirectory("es-bench-");

    [Theory]
    [InlineData("append")]
    [InlineData("commands")]
    [InlineData("pipeline")]
    [InlineData("rebuild")]
    [InlineData("crypto")]
    [InlineData("crypto-parts")]
    [InlineData("http")]
    [InlineData("roundtrips")]
    [InlineData("forwarding")]
    public async Task A_scenario_runs_quick_and_writes_its_figures(string scenario)
    {
        var console = new TestConsole();
        console.Profile.Width = 200;

        var exit = await Program.RunAsync([scenario, "--quick", "--postgres", postgres.ConnectionString, "--results", _results.FullName, "--sample", SampleAssembly()], console, Ct);

        Assert.True(exit == 0, console.Output);
        var file = Assert.Single(_results.GetFiles($"{scenario}-quick-*.json"));
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(file.FullName, Ct));
        var root = json.RootElement;
        Assert.Equal(scenario, root.GetProperty("scenario").GetString());
        Assert.True(root.GetProperty("quick").GetBoolean());
        Assert.Equal(Environment.ProcessorCount.ToString(System.Globalization.CultureInfo.InvariantCulture), root.GetProperty("machine").GetProperty("cores").GetString());
        var rows = root.GetProperty("results").EnumerateArray().ToArray();
        Assert.NotEmpty(rows);
        Assert.All(rows, row => Assert.True(double.IsFinite(row.GetProperty("value").GetDouble()), row.ToString()));
        var rates = rows.Where(row => row.GetProperty("unit").GetString()!.Contains("/s", StringComparison.Ordinal)).ToArray();
        Assert.NotEmpty(rates);
        Assert.All(rates, row => Assert.True(row.GetProperty("value").GetDouble() > 0, row.ToString()));
        Assert.NotEmpty(root.GetProperty("targets").EnumerateArray());
        Assert.Contains(scenario, console.Output, StringComparison.Ordinal); // the table was printed
    }

    [Fact]
    public async Task An_unknown_scenario_is_bad_usage()
    {
        var console = new TestConsole();

        var exit = await Program.RunAsync(["nonsense"], console, Ct);

        Assert.Equal(2, exit);
        Assert.Contains("Usage:", console.Output, StringComparison.Ordinal);
        Assert.Empty(_results.GetFiles());
    }

    public void Dispose() => _results.Delete(recursive: true);

    private static string SampleAssembly()
    {
        var configuration = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name; // bin/{Configuration}/net10.0/
        return Path.Combine(Program.RepositoryRoot(), "samples", "Reservations", "bin", configuration, "net10.0", "Reservations.dll");
    }
}
