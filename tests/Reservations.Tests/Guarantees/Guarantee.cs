using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.Guarantees;

/// <summary>
/// The guarantee tests run one at a time, with no other test of this assembly beside them: each races hundreds of
/// trials across nodes, and how often a race is lost depends on how loaded the two cores are.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GuaranteesRunAlone
{
    public const string Name = "Guarantees under races";
}

/// <summary>What the guarantee tests share: their nodes' settings, and counting what broke.</summary>
internal static class Guarantee
{
    /// <summary>Forgetting open with <see cref="ReservationsApp.AdminKey"/>; no write rate limit (every in-memory client is the one "unknown" client).</summary>
    public static readonly AppSetup Setup = new(new Dictionary<string, string?>
    {
        ["Admin:ApiKey"] = ReservationsApp.AdminKey,
        ["RateLimiting:Writes:Enabled"] = "false",
    });

    /// <summary>Writes a line to the test's output.</summary>
    public static void Report(string line) => TestContext.Current.TestOutputHelper?.WriteLine(line);

    /// <summary>"202×3, 409×2": how often each value occurs.</summary>
    public static string Histogram<T>(IEnumerable<T> values) =>
        string.Join(", ", values.GroupBy(v => v).OrderBy(g => g.Key).Select(g => $"{g.Key}×{g.Count()}"));
}

/// <summary>Counts of what is broken, by name: each reported as it is added, then all asserted to be zero at once.</summary>
internal sealed class Broken
{
    private readonly List<(string What, int Count)> _counts = [];

    public void Add(string what, int count)
    {
        _counts.Add((what, count));
        Guarantee.Report($"BROKEN? {what}: {count}");
    }

    public void AssertNone()
    {
        var broken = _counts.Where(c => c.Count != 0).Select(c => $"{c.What}: {c.Count}").ToArray();
        Assert.True(broken.Length == 0, $"Expected nothing broken, but: {string.Join("; ", broken)}");
    }
}
