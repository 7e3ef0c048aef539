namespace EventSourcing.Deciders;

/// <summary>What handling a command did to its stream.</summary>
/// <param name="StreamId">The stream the command was decided on.</param>
/// <param name="StreamVersion">The stream's version after the command.</param>
/// <param name="Position">
/// The global position of the stream's last event after the command (0 for a stream with no events):
/// wait for a projection to pass it to read your own write.
/// </param>
/// <param name="AppendedEvents">How many events the command appended (0 when there was nothing to do, or when it had already been applied).</param>
public sealed record CommandResult(string StreamId, long StreamVersion, long Position, int AppendedEvents);
