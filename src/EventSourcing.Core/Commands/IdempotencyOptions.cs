namespace EventSourcing.Commands;

/// <summary>How long idempotency records are kept.</summary>
public sealed class IdempotencyOptions
{
    /// <summary>
    /// How long a command's result is kept and returned for repeats of its id. Default 24 hours. Past it, the id stays
    /// bound to its payload: a repeat with the same payload runs again (a decider's command then finds its events and
    /// returns its first outcome), another payload is still refused; the id is never free for another command, since its
    /// events' ids derive from it.
    /// </summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromHours(24);
}
