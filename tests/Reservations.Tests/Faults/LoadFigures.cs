using System.Globalization;

namespace Reservations.Tests.Faults;

/// <summary>What a fault test measured, printed to the test output (and quoted in docs/reliability.md).</summary>
public static class LoadFigures
{
    public static int Count(this IEnumerable<Outcome> outcomes, string kind) => outcomes.Count(o => o.Kind == kind);

    public static int Acknowledged(this IEnumerable<Outcome> outcomes) => outcomes.Count(o => o.Kind == Outcome.Place && o.Acknowledged);
    public static TimeSpan MaxLatency(this IEnumerable<Outcome> outcomes) => outcomes.Select(o => o.Latency).DefaultIfEmpty().Max();

    /// <summary>Prints the figures of <paramref name="scenario"/>: the load's counts and <paramref name="extra"/> lines.</summary>
    public static void Print(string scenario, ReservationLoad load, IEnumerable<(string Name, object Value)> extra)
    {
        var all = load.Outcomes;
        var statuses = all.GroupBy(o => o.Status is null ? "no answer" : o.Answer).OrderBy(g => g.Key, StringComparer.Ordinal);
        var lines = new List<(string, object)>
        {
            ("requests sent", all.Count),
            ("placements sent", all.Count(Outcome.Place)),
            ("placements acknowledged (2xx)", all.Count(o => o.Kind == Outcome.Place && o.Acknowledged)),
            ("unacknowledged placements sent again with their Idempotency-Key, acknowledged", $"{all.Count(Outcome.PlaceAgain)}, {all.Count(o => o.Kind == Outcome.PlaceAgain && o.Acknowledged)}"),
            ("reservations acknowledged in all", load.Acknowledged.Count),
            ("statuses", string.Join(", ", statuses.Select(g => $"{g.Key}×{g.Count()}"))),
            ("5xx other than 503", all.Count(o => o.Status is >= 500 and not 503)),
            ("max latency (ms)", Milliseconds(all.MaxLatency())),
        };
        lines.AddRange(extra);
        var output = TestContext.Current.TestOutputHelper;
        output?.WriteLine($"{scenario}:");
        foreach (var (name, value) in lines)
        {
            output?.WriteLine($"  {name}: {value}");
        }
    }

    public static string Milliseconds(TimeSpan span) => span.TotalMilliseconds.ToString("F0", CultureInfo.InvariantCulture);

    public static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture);
}
