namespace EventSourcing.Deciders;

/// <summary>What handling a command did to its stream.</summary>
/// <param name="StreamId">The stream the command was decided on.</param>
/// <param name="StreamVersion">The stream's version after the command.</param>
/// <param name="Position">
/// The global position of the stream's last event after the command (0 for a stream with no events):
/// wait for a projection to pass it to read your own write.
/// </param>
/// <param name="AppendedEvents">
/// How many events the command appended: 0 when there was nothing to do. For a command already applied (its id found
/// among the stream's events), how many its first handling appended, with <see cref="AlreadyApplied"/> set; the version
/// and position are then those of its own last event.
/// </param>
public sealed record CommandResult(string StreamId, long StreamVersion, long Position, int AppendedEvents)
{
    /// <summary>Whether the command had already been applied (the same command id), so this call stored nothing.</summary>
    public bool AlreadyApplied { get; init; }
}
