namespace EventSourcing.Privacy;

/// <summary>
/// One data key per data subject, stored wrapped by the master key. Get-or-create is safe under concurrency (exactly
/// one key wins); deleting a key forgets the subject. Synchronous lookups exist for serialization paths that cannot
/// await (a store's own document serializer); implementations make them real synchronous I/O, not blocking waits.
/// </summary>
public interface IKeyStore
{
    /// <summary>The subject's data key, or null when there is none (never created, or forgotten).</summary>
    Task<byte[]?> FindAsync(string subjectId, CancellationToken cancellationToken = default);

    /// <summary>The subject's data key, or null: synchronously.</summary>
    byte[]? Find(string subjectId);

    /// <summary>The subject's data key, created if there is none.</summary>
    /// <exception cref="SubjectForgottenException">The subject was forgotten and may not get a new key.</exception>
    Task<byte[]> GetOrCreateAsync(string subjectId, CancellationToken cancellationToken = default);

    /// <summary>The subject's data key, created if there is none: synchronously.</summary>
    byte[] GetOrCreate(string subjectId);

    /// <summary>Deletes the subject's key and records that the subject was forgotten. False if there was no key.</summary>
    Task<bool> DeleteAsync(string subjectId, CancellationToken cancellationToken = default);

    /// <summary>Re-wraps every key under <paramref name="newMasterKey"/> (unwrapping with the current master key); returns how many.</summary>
    Task<int> RewrapAsync(MasterKey newMasterKey, CancellationToken cancellationToken = default);
}
