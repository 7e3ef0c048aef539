using System.Globalization;

namespace EventSourcing.Storage;

/// <summary>
/// What the writer believes about a stream's version when it appends: the optimistic-concurrency check.
/// A stream's version is the number of events in it (0 for a stream that does not exist).
/// </summary>
public readonly record struct ExpectedVersion
{
    private const long AnyValue = -1;
    private const long StreamExistsValue = -2;

    private ExpectedVersion(long value) => Value = value;

    /// <summary>No check: append whatever the stream's version.</summary>
    public static ExpectedVersion Any { get; } = new(AnyValue);

    /// <summary>The stream must not exist yet (same as <c>Exact(0)</c>).</summary>
    public static ExpectedVersion NoStream { get; } = new(0);

    /// <summary>The stream must have at least one event.</summary>
    public static ExpectedVersion StreamExists { get; } = new(StreamExistsValue);

    /// <summary>The raw value: a version (0 or more), -1 for any, -2 for stream exists.</summary>
    public long Value { get; }

    /// <summary>Whether this expects one exact version (including 0, no stream).</summary>
    public bool IsExact => Value >= 0;

    /// <summary>The stream must be at exactly <paramref name="version"/> (0 means it must not exist).</summary>
    public static ExpectedVersion Exact(long version)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(version);
        return new ExpectedVersion(version);
    }

    /// <summary>Whether a stream at <paramref name="actualVersion"/> satisfies this expectation.</summary>
    public bool IsSatisfiedBy(long actualVersion) => Value switch
    {
        AnyValue => true,
        StreamExistsValue => actualVersion > 0,
        _ => actualVersion == Value,
    };

    /// <inheritdoc />
    public override string ToString() => Value switch
    {
        AnyValue => "any",
        StreamExistsValue => "stream exists",
        0 => "no stream",
        _ => Value.ToString(CultureInfo.InvariantCulture),
    };
}
