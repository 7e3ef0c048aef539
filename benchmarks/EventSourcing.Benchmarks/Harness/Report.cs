using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Spectre.Console;

namespace EventSourcing.Benchmarks.Harness;

/// <summary>One measured figure: what ran, on how many events or commands, the value and its unit, and its ratio to the baseline run beside it.</summary>
public sealed record ResultRow(string Variant, long Size, double Value, string Unit, double? Ratio = null, string? Baseline = null);

/// <summary>A target of the scenario and whether the run met it.</summary>
public sealed record TargetCheck(string Target, string Measured, bool Met);

/// <summary>What one scenario measured: printed as a table and written as JSON under the results folder.</summary>
public sealed class ScenarioReport(string scenario, bool quick)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public string Scenario { get; } = scenario;

    public bool Quick { get; } = quick;

    public DateTimeOffset StartedAt { get; } = DateTimeOffset.UtcNow;

    public IDictionary<string, string> Machine { get; init; } = new SortedDictionary<string, string>(StringComparer.Ordinal);

    public IList<ResultRow> Results { get; } = [];

    public IList<TargetCheck> Targets { get; } = [];

    public IList<string> Notes { get; } = [];

    public ResultRow Add(ResultRow row)
    {
        Results.Add(row);
        return row;
    }

    /// <summary>Records a target: met when <paramref name="met"/> holds; a quick run's figures are too small to judge and say so.</summary>
    public void Check(string target, string measured, bool met) => Targets.Add(new TargetCheck(target, measured, met));

    public void Print(IAnsiConsole console)
    {
        ArgumentNullException.ThrowIfNull(console);
        var table = new Table().Title($"[bold]{Markup.Escape(Scenario)}[/]{(Quick ? " (quick: sizes too small to judge targets)" : string.Empty)}")
            .AddColumns("variant", "size", "value", "unit", "ratio");
        foreach (var row in Results)
        {
            table.AddRow(
                Markup.Escape(row.Variant),
                row.Size.ToString("N0", CultureInfo.InvariantCulture),
                Format(row.Value),
                Markup.Escape(row.Unit),
                row.Ratio is { } ratio ? Markup.Escape($"{ratio.ToString("0.00", CultureInfo.InvariantCulture)}x {row.Baseline}") : string.Empty);
        }

        console.Write(table);
        if (Targets.Count > 0)
        {
            var targets = new Table().AddColumns("target", "measured", "met");
            foreach (var target in Targets)
            {
                targets.AddRow(Markup.Escape(target.Target), Markup.Escape(target.Measured), target.Met ? "[green]yes[/]" : "[red]no[/]");
            }

            console.Write(targets);
        }

        foreach (var note in Notes)
        {
            console.MarkupLineInterpolated($"[grey]{note}[/]");
        }
    }

    /// <summary>Writes <c>{scenario}-{quick-}yyyyMMdd-HHmmss.json</c> into <paramref name="directory"/> and returns its path.</summary>
    public async Task<string> WriteAsync(string directory, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        var name = $"{Scenario}-{(Quick ? "quick-" : string.Empty)}{StartedAt.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}.json";
        var path = Path.Combine(directory, name);
        var stream = File.Create(path);
        await using (stream.ConfigureAwait(false))
        {
            await JsonSerializer.SerializeAsync(stream, this, Json, cancellationToken).ConfigureAwait(false);
        }

        return path;
    }

    private static string Format(double value) => value switch
    {
        >= 100 => value.ToString("N0", CultureInfo.InvariantCulture),
        >= 1 => value.ToString("0.00", CultureInfo.InvariantCulture),
        _ => value.ToString("0.000", CultureInfo.InvariantCulture),
    };
}
