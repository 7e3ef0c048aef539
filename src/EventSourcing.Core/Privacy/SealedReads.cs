namespace EventSourcing.Privacy;

/// <summary>
/// Reads that leave personal values sealed. While a follower that reads no personal data reads events (a projection
/// whose <c>ReadsPersonalData</c> is false), its asynchronous flow carries this mark: personal values then read as
/// placeholders without being decrypted, and no key is loaded for them. The mark flows with the reader's awaits and into
/// the tasks it starts, and ends with its scope.
/// </summary>
internal static class SealedReads
{
    private static readonly AsyncLocal<bool> Active = new();

    /// <summary>Whether the current flow reads personal values sealed.</summary>
    public static bool IsActive => Active.Value;

    /// <summary>Reads personal values sealed until the scope is disposed.</summary>
    public static Scope Begin()
    {
        var previous = Active.Value;
        Active.Value = true;
        return new Scope(previous);
    }

    /// <summary>Restores the mark the flow had before <see cref="Begin"/>.</summary>
    public readonly struct Scope(bool previous) : IDisposable
    {
        public void Dispose() => Active.Value = previous;
    }
}
