namespace EventSourcing.Events;

/// <summary>
/// What is known about why and by whom an event was written. Stored beside every event.
/// </summary>
public sealed record EventMetadata
{
    /// <summary>No metadata: no command, correlation, causation or user.</summary>
    public static EventMetadata Empty { get; } = new();

    /// <summary>
    /// The id of the command that produced the event. When set, the ids of the appended events are
    /// derived from it, so appending the same command twice stores its events once.
    /// </summary>
    public Guid? CommandId { get; init; }

    /// <summary>Ties together every message of one business flow (for example one HTTP request and what it caused).</summary>
    public string? CorrelationId { get; init; }

    /// <summary>The id of the message (command or event) that directly caused this one.</summary>
    public string? CausationId { get; init; }

    /// <summary>Who issued the command, as the application identifies users. Never personal data itself.</summary>
    public string? User { get; init; }

    /// <summary>
    /// The W3C <c>traceparent</c> of the span that wrote the event (<c>00-{trace id}-{span id}-{flags}</c>), when one was
    /// recorded: the stores take it from the append's span, so a reactor's or a projection's span continues the trace.
    /// </summary>
    public string? TraceParent { get; init; }
}
