using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace EventSourcing.Privacy;

/// <summary>
/// Data keys in memory, bounded in count and trusted for a limited time, each with one <see cref="AesGcm"/> instance
/// (created once per key, not per value). A cached "no key" answer saves asking the store again for a forgotten subject.
/// </summary>
internal sealed class KeyCache(int capacity, TimeSpan duration, TimeProvider timeProvider) : IDisposable
{
    private readonly ConcurrentDictionary<string, CachedKey> _keys = new(StringComparer.Ordinal);
    private readonly Lock _trimLock = new();
    private long _uses;

    /// <summary>The cached answer for <paramref name="subjectId"/>, if fresh: a key, or a known absence.</summary>
    public bool TryGet(string subjectId, out CachedKey entry)
    {
        if (_keys.TryGetValue(subjectId, out entry!) && entry.ExpiresAt > timeProvider.GetUtcNow())
        {
            entry.LastUsed = Interlocked.Increment(ref _uses);
            return true;
        }

        entry = null!;
        return false;
    }

    /// <summary>Caches <paramref name="dataKey"/> (null: the subject has no key) and returns the entry.</summary>
    public CachedKey Set(string subjectId, byte[]? dataKey)
    {
        var entry = new CachedKey(dataKey, timeProvider.GetUtcNow() + duration) { LastUsed = Interlocked.Increment(ref _uses) };
        if (dataKey is not null)
        {
            CryptographicOperations.ZeroMemory(dataKey);
        }

        _keys.AddOrUpdate(subjectId, entry, (_, old) =>
        {
            old.Dispose();
            return entry;
        });
        if (_keys.Count > capacity)
        {
            Trim();
        }

        return entry;
    }

    /// <summary>Drops the subject's key from memory.</summary>
    public void Evict(string subjectId)
    {
        if (_keys.TryRemove(subjectId, out var entry))
        {
            entry.Dispose();
        }
    }

    public void Dispose()
    {
        foreach (var entry in _keys.Values)
        {
            entry.Dispose();
        }

        _keys.Clear();
    }

    private void Trim()
    {
        lock (_trimLock)
        {
            if (_keys.Count <= capacity)
            {
                return;
            }

            var target = capacity * 9 / 10;
            // ToArray on the dictionary itself is one consistent snapshot; LINQ over it would copy into an array sized
            // before other threads added keys, and fail.
            var snapshot = _keys.ToArray();
            foreach (var (subject, _) in snapshot.OrderBy(pair => pair.Value.LastUsed).Take(snapshot.Length - target).ToArray())
            {
                Evict(subject);
            }
        }
    }
}

/// <summary>A cached key: one cipher, used under a lock (an <see cref="AesGcm"/> instance is not thread-safe), and the key's id.</summary>
internal sealed class CachedKey : IDisposable
{
    private readonly Lock _lock = new();
    private AesGcm? _cipher;
    private bool _disposed;

    public CachedKey(byte[]? dataKey, DateTimeOffset expiresAt)
    {
        _cipher = dataKey is null ? null : new AesGcm(dataKey, 16);
        HasKey = dataKey is not null;
        KeyId = dataKey is null ? string.Empty : System.Buffers.Text.Base64Url.EncodeToString(SHA256.HashData(dataKey).AsSpan(0, 8));
        ExpiresAt = expiresAt;
    }

    /// <summary>A short id of the key (from its hash; it reveals nothing of the key), written with every value it protects.</summary>
    public string KeyId { get; }

    /// <summary>When the entry was last used, on the cache's use counter (the least recently used go first).</summary>
    public long LastUsed { get; set; }

    /// <summary>Whether the subject had a key (false: none, or forgotten).</summary>
    public bool HasKey { get; }

    public DateTimeOffset ExpiresAt { get; }

    /// <summary>Encrypts; false if the entry was evicted meanwhile.</summary>
    public bool TryEncrypt(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext, Span<byte> tag, ReadOnlySpan<byte> associatedData)
    {
        lock (_lock)
        {
            if (_disposed || _cipher is null)
            {
                return false;
            }

            _cipher.Encrypt(nonce, plaintext, ciphertext, tag, associatedData);
            return true;
        }
    }

    /// <summary>Decrypts; false if the entry was evicted meanwhile. Throws <see cref="AuthenticationTagMismatchException"/> on tampering.</summary>
    public bool TryDecrypt(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, Span<byte> plaintext, ReadOnlySpan<byte> associatedData)
    {
        lock (_lock)
        {
            if (_disposed || _cipher is null)
            {
                return false;
            }

            _cipher.Decrypt(nonce, ciphertext, tag, plaintext, associatedData);
            return true;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            _cipher?.Dispose();
            _cipher = null;
        }
    }
}
