namespace EventSourcing.Commands;

/// <summary>How long idempotency records are kept.</summary>
public sealed class IdempotencyOptions
{
    /// <summary>How long a command's result is returned for repeats of its id. Default 24 hours.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromHours(24);
}
