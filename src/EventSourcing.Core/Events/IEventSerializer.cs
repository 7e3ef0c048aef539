namespace EventSourcing.Events;

/// <summary>Turns events into stored bytes and back, under their registered type names.</summary>
public interface IEventSerializer
{
    /// <summary>Serializes <paramref name="data"/> and names its type.</summary>
    /// <exception cref="UnknownEventTypeException">The event's type is not registered.</exception>
    SerializedEvent Serialize(object data);

    /// <summary>Reads an event stored under <paramref name="eventType"/>, upcasting old shapes.</summary>
    /// <exception cref="UnknownEventTypeException">No type, alias or upcaster knows the name.</exception>
    /// <exception cref="EventDeserializationException">The stored bytes do not fit the type.</exception>
    DeserializedEvent Deserialize(string eventType, ReadOnlySpan<byte> data);
}

/// <summary>An event ready to store: its registered type name and its UTF-8 JSON.</summary>
public sealed record SerializedEvent(string EventType, byte[] Data);

/// <summary>An event read back: the name of the type it was read as (after upcasting), and the event.</summary>
public sealed record DeserializedEvent(string EventType, object Data)
{
    /// <summary>True when some personal data in the event was erased and reads as a placeholder.</summary>
    public bool PersonalDataErased { get; init; }
}

/// <summary>The stored bytes of an event could not be read as its type.</summary>
public sealed class EventDeserializationException(string eventType, Type type, Exception innerException)
    : Exception($"The stored event of type '{eventType}' could not be read as {type.FullName}: {innerException.Message}", innerException)
{
    /// <summary>The stored type name.</summary>
    public string EventType { get; } = eventType;
}
