namespace EventSourcing.Storage;

/// <summary>
/// The argument checks every store makes before an append or a read, so all stores fail alike (the contract suite
/// checks the errors): for authors of stores.
/// </summary>
public static class AppendGuard
{
    /// <summary>The longest stream id accepted.</summary>
    public const int MaxStreamIdLength = 250;

    /// <summary>A stream id is not blank and at most <see cref="MaxStreamIdLength"/> characters.</summary>
    /// <exception cref="ArgumentException">It is not.</exception>
    public static void StreamId(string streamId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(streamId);
        if (streamId.Length > MaxStreamIdLength)
        {
            throw new ArgumentException($"A stream id is at most {MaxStreamIdLength} characters; got {streamId.Length}.", nameof(streamId));
        }
    }

    /// <summary>An append has at least one event, none of them null.</summary>
    /// <exception cref="ArgumentException">It has not.</exception>
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

    /// <summary>
    /// The id of the <paramref name="index"/>-th event of an append: derived from the command id when the metadata has
    /// one (so a repeated command's append is recognised), else a new version 7 UUID.
    /// </summary>
    public static Guid EventId(EventSourcing.Events.EventMetadata metadata, int index) =>
        metadata.CommandId is { } commandId ? EventSourcing.Events.EventIds.FromCommand(commandId, index) : Guid.CreateVersion7();
}
