namespace EventSourcing.Testing.Contracts.Storage;

/// <summary>
/// How one reader of the log delivered the committed events: which committed positions it skipped, which it delivered
/// more than once, where its order went backwards, and which positions it delivered that were never committed.
/// A reader that delivers each committed position exactly once in strictly increasing order is <see cref="Clean"/>.
/// </summary>
/// <param name="Reader">The reader's name in the report.</param>
/// <param name="Delivered">How many events it delivered.</param>
/// <param name="Skipped">Committed positions it never delivered.</param>
/// <param name="Doubled">Positions it delivered more than once.</param>
/// <param name="Backwards">Pairs of consecutive deliveries whose positions did not increase.</param>
/// <param name="Unknown">Positions it delivered that are not among the committed ones.</param>
public sealed record DeliveryAudit(string Reader, int Delivered, long[] Skipped, long[] Doubled, (long Before, long After)[] Backwards, long[] Unknown)
{
    /// <summary>Whether every committed position was delivered exactly once, in strictly increasing order, and nothing else.</summary>
    public bool Clean => Skipped.Length == 0 && Doubled.Length == 0 && Backwards.Length == 0 && Unknown.Length == 0;

    /// <summary>Audits <paramref name="delivered"/> (in delivery order) against the <paramref name="committed"/> positions.</summary>
    public static DeliveryAudit Of(string reader, IReadOnlyCollection<long> committed, IReadOnlyList<long> delivered)
    {
        ArgumentNullException.ThrowIfNull(committed);
        ArgumentNullException.ThrowIfNull(delivered);
        var seen = delivered.ToHashSet();
        var known = committed.ToHashSet();
        return new DeliveryAudit(
            reader,
            delivered.Count,
            [.. committed.Where(p => !seen.Contains(p)).Order()],
            [.. delivered.GroupBy(p => p).Where(g => g.Count() > 1).Select(g => g.Key).Order()],
            [.. delivered.Zip(delivered.Skip(1)).Where(pair => pair.Second <= pair.First)],
            [.. seen.Where(p => !known.Contains(p)).Order()]);
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"{Reader}: delivered {Delivered}, skipped [{string.Join(", ", Skipped)}], doubled [{string.Join(", ", Doubled)}], " +
        $"backwards [{string.Join(", ", Backwards.Select(b => $"{b.Before}->{b.After}"))}], never committed [{string.Join(", ", Unknown)}]";
}
