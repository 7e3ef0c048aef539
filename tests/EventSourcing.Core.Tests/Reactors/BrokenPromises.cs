namespace EventSourcing.Core.Tests.Reactors;

/// <summary>Counts of what is broken, by name: each written to the test's output as it is added, then all asserted to be zero at once.</summary>
internal sealed class BrokenPromises
{
    private readonly List<(string What, long Count)> _counts = [];

    public void Add(string what, long count)
    {
        _counts.Add((what, count));
        Report($"BROKEN? {what}: {count}");
    }

    /// <summary>Adds 1 when <paramref name="broken"/> holds.</summary>
    public void Add(string what, bool broken) => Add(what, broken ? 1 : 0);

    public static void Report(string line) => TestContext.Current.TestOutputHelper?.WriteLine(line);

    public void AssertNone()
    {
        var broken = _counts.Where(c => c.Count != 0).Select(c => $"{c.What}: {c.Count}").ToArray();
        Assert.True(broken.Length == 0, $"Expected nothing broken, but: {string.Join("; ", broken)}");
    }
}
