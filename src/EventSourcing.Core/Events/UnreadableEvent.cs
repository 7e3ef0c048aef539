namespace EventSourcing.Events;

/// <summary>
/// The data of an event of the log that cannot be read as its type: its stored name is not registered here, its data
/// does not fit the type (<see cref="EventDeserializationException"/>), or its personal data fails authentication.
/// Reading the whole log (<see cref="Storage.IEventReader.ReadAllAsync"/>, <see cref="Storage.IEventReader.SubscribeAllAsync"/>)
/// returns it in the event's place, with the event's id, stream, position and stored type name, instead of failing:
/// one bad event must not stop every follower of the log. Projections dead-letter it (or stop, as their policy says);
/// reactors skip it, logging an error and keeping a dead letter. Reading a stream still fails on it: no decision can be
/// made on a stream with a hole in it.
/// </summary>
/// <param name="Error">Why it could not be read.</param>
public sealed record UnreadableEvent(Exception Error)
{
    /// <summary>
    /// Whether <paramref name="exception"/>, thrown while reading one event, is about that event's stored data (and not,
    /// say, the store): a store then gives the event as an <see cref="UnreadableEvent"/> instead of failing the read.
    /// </summary>
    public static bool IsAbout(Exception exception) =>
        exception is UnknownEventTypeException or EventDeserializationException or Privacy.PersonalDataTamperedException;
}
