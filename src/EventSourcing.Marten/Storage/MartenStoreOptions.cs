namespace EventSourcing.Marten.Storage;

/// <summary>Settings of the Marten event store.</summary>
public sealed class MartenStoreOptions
{
    /// <summary>
    /// How long a hole in the sequence (a number taken by a transaction that has not committed it) stays in view before
    /// readers of the whole log ask PostgreSQL whether a transaction that may still fill it is alive. They pass it only
    /// when none is, however long this is: it only spares PostgreSQL that question for the holes of appends in flight,
    /// which fill within milliseconds. Default 250 ms.
    /// </summary>
    public TimeSpan StaleGapThreshold { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How long a live subscriber waits for an append notification before looking again anyway. Default 2 seconds.</summary>
    public TimeSpan SubscriptionFallbackInterval { get; set; } = TimeSpan.FromSeconds(2);
}
