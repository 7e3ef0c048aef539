using EventSourcing.Events;
using EventSourcing.Privacy;

namespace EventSourcing.Nats;

/// <summary>
/// Reads a <see cref="ReceivedEvent"/> as the library's event, for a trusted consumer: a process whose container has
/// <c>AddEventSourcing</c> with the event types registered and the same key store (and master key) as the application
/// that wrote the log. Personal values are decrypted while their subject is known and read as placeholders once it was
/// forgotten (<see cref="DeserializedEvent.PersonalDataErased"/>). A consumer without the key store reads the body as
/// JSON, its personal values sealed.
/// </summary>
/// <param name="serializer">The library's serializer (from <c>AddEventSourcing</c>).</param>
/// <param name="protector">The protector over the shared key store.</param>
public sealed class TrustedEventReader(IEventSerializer serializer, PersonalDataProtector protector)
{
    /// <summary>Loads the keys the event's personal values need, then reads it as its registered type.</summary>
    /// <param name="event">The event received.</param>
    /// <param name="cancellationToken">Cancels loading the keys.</param>
    /// <returns>The event, its personal values decrypted or erased.</returns>
    /// <exception cref="UnknownEventTypeException">The consumer has not registered the event's type.</exception>
    /// <exception cref="EventDeserializationException">The body does not fit the type.</exception>
    public Task<DeserializedEvent> ReadAsync(ReceivedEvent @event, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(@event);
        return ReadAsync(@event.EventType, @event.Data, cancellationToken);
    }

    /// <summary>Loads the keys the body's personal values need, then reads it as the type registered under <paramref name="eventType"/>.</summary>
    /// <param name="eventType">The stored type name (the <c>es-event-type</c> header).</param>
    /// <param name="data">The event's JSON, as the transport published it.</param>
    /// <param name="cancellationToken">Cancels loading the keys.</param>
    /// <returns>The event, its personal values decrypted or erased.</returns>
    /// <exception cref="UnknownEventTypeException">The consumer has not registered the event's type.</exception>
    /// <exception cref="EventDeserializationException">The body does not fit the type.</exception>
    public async Task<DeserializedEvent> ReadAsync(string eventType, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(eventType);
        await protector.PrepareReadAsync([data], cancellationToken).ConfigureAwait(false);
        return serializer.Deserialize(eventType, data.Span);
    }
}
