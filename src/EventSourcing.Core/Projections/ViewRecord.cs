namespace EventSourcing.Projections;

/// <summary>
/// A stored view with the global position of the last event applied to it. An event at or below that position is
/// already in the view and is not applied again, which makes projecting idempotent (at-least-once delivery, and the
/// blue/green swap of a rebuild, never count an event twice). A deleted view keeps its record, with no view, for the same reason.
/// </summary>
/// <param name="Id">The view id.</param>
/// <param name="Position">The global position of the last event applied.</param>
/// <param name="View">The view, or null when an event deleted it.</param>
public sealed record ViewRecord(string Id, long Position, object? View);

/// <summary>An event a projection (or a reactor, under its checkpoint name) failed on, kept with its error.</summary>
/// <param name="Projection">The projection's name.</param>
/// <param name="Position">The event's global position.</param>
/// <param name="EventId">The event's id.</param>
/// <param name="StreamId">The event's stream.</param>
/// <param name="EventType">The event's type name.</param>
/// <param name="Error">The error's type and message.</param>
/// <param name="FailedAt">When the projection failed.</param>
public sealed record DeadLetter(string Projection, long Position, Guid EventId, string StreamId, string EventType, string Error, DateTimeOffset FailedAt)
{
    /// <summary>The letter for <paramref name="envelope"/>, which <paramref name="projection"/> failed on with <paramref name="error"/>.</summary>
    internal static DeadLetter For(string projection, Events.EventEnvelope envelope, Exception error, DateTimeOffset failedAt) =>
        new(projection, envelope.Position, envelope.EventId, envelope.StreamId, envelope.EventType, $"{error.GetType().Name}: {error.Message}", failedAt);
}
