namespace EventSourcing.Deciders;

/// <summary>How <see cref="DeciderHandler{TCommand, TEvent, TState}"/> retries after a concurrency conflict, keeps snapshots and caches states.</summary>
public sealed class CommandHandlingOptions
{
    /// <summary>How many times a command is decided again after a conflict before the conflict is reported. Default 10.</summary>
    public int MaxConflictRetries { get; set; } = 10;

    /// <summary>The first pause before deciding again; later pauses grow exponentially, with jitter. Default 2 ms.</summary>
    public TimeSpan ConflictRetryDelay { get; set; } = TimeSpan.FromMilliseconds(2);

    /// <summary>
    /// Keep a snapshot of a stream's state every this many events (0: never, the default). The handler then folds only
    /// the events after the latest snapshot.
    /// </summary>
    public int SnapshotEvery { get; set; }

    /// <summary>
    /// How many streams' folded states each decider handler keeps in memory, so that a command reads and folds only the
    /// events after the version kept (0: none). Default 10,000; past it the least recently used go. The store's expected
    /// version still decides every append. States whose type, or the type of an event folded into them, holds
    /// <see cref="Privacy.PersonalDataAttribute"/> data are never kept.
    /// </summary>
    public int CachedStreams { get; set; } = 10_000;

    /// <summary>The longest pause between two attempts. Default 200 ms.</summary>
    public TimeSpan MaxConflictRetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);
}
