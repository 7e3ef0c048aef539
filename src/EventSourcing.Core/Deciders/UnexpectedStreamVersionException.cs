using EventSourcing.Storage;

namespace EventSourcing.Deciders;

/// <summary>The caller required the stream at a version (for example with <c>If-Match</c>) and it is at another. Nothing was decided.</summary>
public sealed class UnexpectedStreamVersionException(string streamId, ExpectedVersion expected, long actualVersion)
    : Exception($"Stream '{streamId}' was required at version {expected} but is at version {actualVersion}.")
{
    /// <summary>The stream.</summary>
    public string StreamId { get; } = streamId;

    /// <summary>The version required.</summary>
    public ExpectedVersion Expected { get; } = expected;

    /// <summary>The version found.</summary>
    public long ActualVersion { get; } = actualVersion;
}
