namespace EventSourcing.Storage;

/// <summary>The argument checks every store makes before an append or a read, so all stores fail alike.</summary>
internal static class AppendGuard
{
    /// <summary>The longest stream id accepted.</summary>
    public const int MaxStreamIdLength = 250;

    public static void StreamId(string streamId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(streamId);
        if (streamId.Length > MaxStreamIdLength)
        {
            throw new ArgumentException($"A stream id is at most {MaxStreamIdLength} characters; got {streamId.Length}.", nameof(streamId));
        }
    }

    public static void Events(IReadOnlyList<object> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count == 0)
        {
            throw new ArgumentException("An append needs at least one event.", nameof(events));
        }

        for (var i = 0; i < events.Count; i++)
        {
            if (events[i] is null)
            {
                throw new ArgumentException($"Event {i} of the append is null.", nameof(events));
            }
        }
    }

    public static Guid EventId(EventSourcing.Events.EventMetadata metadata, int index) =>
        metadata.CommandId is { } commandId ? EventSourcing.Events.EventIds.FromCommand(commandId, index) : Guid.CreateVersion7();
}
