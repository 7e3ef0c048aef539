using System.Security.Cryptography;

namespace EventSourcing.Privacy;

/// <summary>
/// The key store logic every storage shares: random 256-bit data keys, wrapped by the master key, get-or-create
/// through an insert-if-absent, and the forgotten-subject policy. Storages implement the row operations.
/// </summary>
public abstract class WrappingKeyStore : IKeyStore
{
    private readonly bool _allowNewKeyAfterForget;

    /// <summary>Creates the store with the master key that wraps its keys.</summary>
    protected WrappingKeyStore(MasterKey masterKey, bool allowNewKeyAfterForget)
    {
        MasterKey = masterKey ?? throw new ArgumentNullException(nameof(masterKey));
        _allowNewKeyAfterForget = allowNewKeyAfterForget;
    }

    /// <summary>The master key in use.</summary>
    protected MasterKey MasterKey { get; private set; }

    /// <inheritdoc />
    public async Task<byte[]?> FindAsync(string subjectId, CancellationToken cancellationToken) =>
        Unwrap(subjectId, await ReadAsync(subjectId, cancellationToken).ConfigureAwait(false));

    /// <inheritdoc />
    public byte[]? Find(string subjectId) => Unwrap(subjectId, Read(subjectId));

    /// <inheritdoc />
    public async Task<byte[]> GetOrCreateAsync(string subjectId, CancellationToken cancellationToken)
    {
        if (Unwrap(subjectId, await ReadAsync(subjectId, cancellationToken).ConfigureAwait(false)) is { } existing)
        {
            return existing;
        }

        if (!_allowNewKeyAfterForget && await IsForgottenAsync(subjectId, cancellationToken).ConfigureAwait(false))
        {
            throw new SubjectForgottenException(subjectId);
        }

        var winner = await InsertIfAbsentAsync(subjectId, NewWrappedKey(subjectId), cancellationToken).ConfigureAwait(false);
        return Unwrap(subjectId, winner)!;
    }

    /// <inheritdoc />
    public byte[] GetOrCreate(string subjectId)
    {
        if (Unwrap(subjectId, Read(subjectId)) is { } existing)
        {
            return existing;
        }

        if (!_allowNewKeyAfterForget && IsForgotten(subjectId))
        {
            throw new SubjectForgottenException(subjectId);
        }

        return Unwrap(subjectId, InsertIfAbsent(subjectId, NewWrappedKey(subjectId)))!;
    }

    /// <inheritdoc />
    public abstract Task<bool> DeleteAsync(string subjectId, CancellationToken cancellationToken);

    /// <inheritdoc />
    public async Task<int> RewrapAsync(MasterKey newMasterKey, CancellationToken cancellationToken)
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

    /// <summary>The stored key of a subject, or null.</summary>
    protected abstract Task<WrappedKey?> ReadAsync(string subjectId, CancellationToken cancellationToken);

    /// <summary>The stored key of a subject, or null: synchronously.</summary>
    protected abstract WrappedKey? Read(string subjectId);

    /// <summary>Stores <paramref name="key"/> unless the subject has one; returns the one stored (the first wins).</summary>
    protected abstract Task<WrappedKey> InsertIfAbsentAsync(string subjectId, WrappedKey key, CancellationToken cancellationToken);

    /// <summary>Stores <paramref name="key"/> unless the subject has one: synchronously.</summary>
    protected abstract WrappedKey InsertIfAbsent(string subjectId, WrappedKey key);

    /// <summary>Whether the subject was forgotten.</summary>
    protected abstract Task<bool> IsForgottenAsync(string subjectId, CancellationToken cancellationToken);

    /// <summary>Whether the subject was forgotten: synchronously.</summary>
    protected abstract bool IsForgotten(string subjectId);

    /// <summary>Every stored key.</summary>
    protected abstract IAsyncEnumerable<(string SubjectId, WrappedKey Key)> ReadAllAsync(CancellationToken cancellationToken);

    /// <summary>Replaces a subject's stored key.</summary>
    protected abstract Task UpdateAsync(string subjectId, WrappedKey key, CancellationToken cancellationToken);

    private WrappedKey NewWrappedKey(string subjectId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(subjectId);
        var dataKey = RandomNumberGenerator.GetBytes(32);
        var wrapped = new WrappedKey(MasterKey.Wrap(subjectId, dataKey), MasterKey.Id);
        CryptographicOperations.ZeroMemory(dataKey);
        return wrapped;
    }

    private byte[]? Unwrap(string subjectId, WrappedKey? key)
    {
        if (key is null)
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
