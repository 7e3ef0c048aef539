namespace EventSourcing.Projections;

/// <summary>A projection failed on an event and its policy is to stop (<see cref="PoisonEventPolicy.Stop"/>).</summary>
public sealed class ProjectionFailedException(DeadLetter failure, Exception innerException)
    : Exception($"Projection '{failure.Projection}' failed on event {failure.EventId} ('{failure.EventType}' at position {failure.Position} in stream '{failure.StreamId}'): {failure.Error}", innerException)
{
    /// <summary>The event and the error.</summary>
    public DeadLetter Failure { get; } = failure;
}
