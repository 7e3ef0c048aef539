namespace EventSourcing.Storage;

/// <summary>
/// An append found its stream at another version than expected: someone else wrote first.
/// Reload, decide again, and retry; every store reports conflicts with this type, never a raw database error.
/// </summary>
public sealed class ConcurrencyException : Exception
{
    /// <summary>Creates the error for <paramref name="streamId"/>.</summary>
    /// <param name="streamId">The stream appended to.</param>
    /// <param name="expected">What the writer expected.</param>
    /// <param name="actualVersion">The version found, or null when the store cannot tell (for example a lock conflict).</param>
    /// <param name="innerException">The store's own error, if any.</param>
    public ConcurrencyException(string streamId, ExpectedVersion expected, long? actualVersion, Exception? innerException = null)
        : base(actualVersion is { } actual
            ? $"Stream '{streamId}' was expected at version {expected} but is at version {actual}."
            : $"Stream '{streamId}' was expected at version {expected} but was changed concurrently.", innerException)
    {
        StreamId = streamId;
        Expected = expected;
        ActualVersion = actualVersion;
    }

    /// <summary>The stream appended to.</summary>
    public string StreamId { get; }

    /// <summary>What the writer expected.</summary>
    public ExpectedVersion Expected { get; }

    /// <summary>The version found, or null when the store could not tell.</summary>
    public long? ActualVersion { get; }
}
