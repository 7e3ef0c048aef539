namespace EventSourcing.Marten.Storage;

/// <summary>Settings of the Marten event store.</summary>
public sealed class MartenStoreOptions
{
    /// <summary>
    /// How long a sequence gap must stay open (with every transaction that was running when it was first seen ended)
    /// before readers of the whole log skip it as left by a rolled-back or crashed append. Default 3 seconds.
    /// </summary>
    public TimeSpan StaleGapThreshold { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>How long a live subscriber waits for an append notification before looking again anyway. Default 2 seconds.</summary>
    public TimeSpan SubscriptionFallbackInterval { get; set; } = TimeSpan.FromSeconds(2);
}
