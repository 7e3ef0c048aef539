namespace EventSourcing.Storage;

/// <summary>The outcome of an append.</summary>
/// <param name="StreamId">The stream appended to.</param>
/// <param name="StreamVersion">The stream's version after the append: the version of the last appended event.</param>
/// <param name="Position">The global position of the last appended event: wait for it to read your own write.</param>
/// <param name="AlreadyApplied">
/// True when the events carry a command id whose events were already stored: nothing new was appended
/// and the version and position are those of the first append.
/// </param>
public sealed record AppendResult(string StreamId, long StreamVersion, long Position, bool AlreadyApplied = false);
