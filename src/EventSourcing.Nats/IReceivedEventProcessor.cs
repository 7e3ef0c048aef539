namespace EventSourcing.Nats;

/// <summary>
/// Handles the events a <see cref="NatsEventConsumer"/> receives. Returning acknowledges the event; throwing has it
/// delivered again after <see cref="NatsConsumerOptions.RetryDelay"/>, up to <see cref="NatsConsumerOptions.MaxAttempts"/> times.
/// </summary>
public interface IReceivedEventProcessor
{
    /// <summary>Handles one event. It is not called again for an event id the <see cref="IProcessedEvents"/> holds.</summary>
    /// <param name="received">The event.</param>
    /// <param name="cancellationToken">Cancelled when the consumer stops; the event is then delivered again.</param>
    /// <returns>A task that completes once the event is handled.</returns>
    Task HandleAsync(ReceivedEvent received, CancellationToken cancellationToken);
}
