namespace EventSourcing.Projections;

/// <summary>When a projection's views are brought up to date.</summary>
public enum ProjectionLifecycle
{
    /// <summary>In the same transaction as the append: always current, but every append pays for it, and a failing projection fails the append.</summary>
    Inline,

    /// <summary>By a runner that follows the log from a checkpoint: appends stay fast, readers may lag (wait for a position to read your writes).</summary>
    Async,

    /// <summary>Not stored: folded from the view's stream on every read. Views must be identified by their stream id.</summary>
    Live,
}

/// <summary>What to do with an event whose projection fails.</summary>
public enum PoisonEventPolicy
{
    /// <summary>Store the event's reference and error as a dead letter and go on with the next event.</summary>
    DeadLetter,

    /// <summary>Stop, with a report naming the event and the error.</summary>
    Stop,
}
