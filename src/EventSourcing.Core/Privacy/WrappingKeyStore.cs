using System.Security.Cryptography;

namespace EventSourcing.Privacy;

/// <summary>
/// The key store logic every storage shares: random 256-bit data keys wrapped by the master key, and the forgotten-subject
/// policy. A subject's row holds either its key or a tombstone (forgotten); storages make creating a key and forgetting
/// atomic on that one row, so a key created concurrently with a forget is either deleted by it or never created.
/// </summary>
public abstract class WrappingKeyStore : IKeyStore
{
    /// <summary>Creates the store with the master key that wraps its keys.</summary>
    protected WrappingKeyStore(MasterKey masterKey, bool allowNewKeyAfterForget)
    {
        MasterKey = masterKey ?? throw new ArgumentNullException(nameof(masterKey));
        AllowNewKeyAfterForget = allowNewKeyAfterForget;
    }

    /// <summary>The master key in use.</summary>
    protected MasterKey MasterKey { get; private set; }

    /// <summary>Whether a forgotten subject may get a new key (their old data stays unreadable).</summary>
    protected bool AllowNewKeyAfterForget { get; }

    /// <inheritdoc />
    public async Task<byte[]?> FindAsync(string subjectId, CancellationToken cancellationToken = default) =>
        Unwrap(subjectId, await ReadAsync(subjectId, cancellationToken).ConfigureAwait(false));

    /// <inheritdoc />
    public byte[]? Find(string subjectId) => Unwrap(subjectId, Read(subjectId));

    /// <inheritdoc />
    public async Task<byte[]> GetOrCreateAsync(string subjectId, CancellationToken cancellationToken = default)
    {
        var stored = await ReadAsync(subjectId, cancellationToken).ConfigureAwait(false);
        if (stored is null || (stored.IsForgotten && AllowNewKeyAfterForget))
        {
            stored = await InsertIfAbsentAsync(subjectId, NewWrappedKey(subjectId), cancellationToken).ConfigureAwait(false);
        }

        return Unwrap(subjectId, stored) ?? throw new SubjectForgottenException(subjectId);
    }

    /// <inheritdoc />
    public byte[] GetOrCreate(string subjectId)
    {
        var stored = Read(subjectId);
        if (stored is null || (stored.IsForgotten && AllowNewKeyAfterForget))
        {
            stored = InsertIfAbsent(subjectId, NewWrappedKey(subjectId));
        }

        return Unwrap(subjectId, stored) ?? throw new SubjectForgottenException(subjectId);
    }

    /// <inheritdoc />
    public abstract Task<bool> DeleteAsync(string subjectId, CancellationToken cancellationToken = default);

    /// <inheritdoc />
    public async Task<int> RewrapAsync(MasterKey newMasterKey, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(newMasterKey);
        var count = 0;
        await foreach (var (subjectId, wrapped) in ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            var dataKey = MasterKey.Unwrap(subjectId, wrapped.Wrapped);
            await UpdateAsync(subjectId, new WrappedKey(newMasterKey.Wrap(subjectId, dataKey), newMasterKey.Id), cancellationToken).ConfigureAwait(false);
            CryptographicOperations.ZeroMemory(dataKey);
            count++;
        }

        MasterKey = newMasterKey;
        return count;
    }

    /// <summary>The subject's row: a key, a tombstone, or null when there is none.</summary>
    protected abstract Task<StoredKey?> ReadAsync(string subjectId, CancellationToken cancellationToken);

    /// <summary>The subject's row, synchronously.</summary>
    protected abstract StoredKey? Read(string subjectId);

    /// <summary>
    /// Stores <paramref name="key"/> unless the subject has a row (a key, or a tombstone, which <see cref="AllowNewKeyAfterForget"/>
    /// lets a new key replace), atomically with <see cref="DeleteAsync"/>; returns the row that won.
    /// </summary>
    protected abstract Task<StoredKey> InsertIfAbsentAsync(string subjectId, WrappedKey key, CancellationToken cancellationToken);

    /// <summary>As <see cref="InsertIfAbsentAsync"/>, synchronously.</summary>
    protected abstract StoredKey InsertIfAbsent(string subjectId, WrappedKey key);

    /// <summary>Every stored key (tombstones left out).</summary>
    protected abstract IAsyncEnumerable<(string SubjectId, WrappedKey Key)> ReadAllAsync(CancellationToken cancellationToken);

    /// <summary>Replaces a subject's stored key (a tombstone stays one).</summary>
    protected abstract Task UpdateAsync(string subjectId, WrappedKey key, CancellationToken cancellationToken);

    private WrappedKey NewWrappedKey(string subjectId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(subjectId);
        var dataKey = RandomNumberGenerator.GetBytes(32);
        var wrapped = new WrappedKey(MasterKey.Wrap(subjectId, dataKey), MasterKey.Id);
        CryptographicOperations.ZeroMemory(dataKey);
        return wrapped;
    }

    private byte[]? Unwrap(string subjectId, StoredKey? stored)
    {
        if (stored?.Key is not { } key)
        {
            return null;
        }

        return key.MasterKeyId == MasterKey.Id
            ? MasterKey.Unwrap(subjectId, key.Wrapped)
            : throw new CryptographicException($"The key of subject '{subjectId}' is wrapped by master key '{key.MasterKeyId}', not the configured '{MasterKey.Id}'. Configure that key, or re-wrap the keys.");
    }
}

/// <summary>A data key as stored: wrapped, with the name of the master key that wrapped it.</summary>
/// <param name="Wrapped">Nonce, tag and ciphertext.</param>
/// <param name="MasterKeyId">The master key's name.</param>
public sealed record WrappedKey(byte[] Wrapped, string MasterKeyId);

/// <summary>A subject's row in a key store: its key, or a tombstone (<see cref="Key"/> null) once it was forgotten.</summary>
/// <param name="Key">The wrapped key; null when the subject was forgotten.</param>
public sealed record StoredKey(WrappedKey? Key)
{
    /// <summary>The tombstone of a forgotten subject.</summary>
    public static StoredKey Forgotten { get; } = new((WrappedKey?)null);

    /// <summary>Whether the subject was forgotten.</summary>
    public bool IsForgotten => Key is null;
}
