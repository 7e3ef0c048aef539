using System.Collections.Concurrent;
using System.Security.Cryptography;
using EventSourcing.Diagnostics;

namespace EventSourcing.Privacy;

/// <summary>
/// Data keys in memory, bounded in count and trusted for a limited time, each with one <see cref="AesGcm"/> instance
/// (created once per key, not per value). A cached "no key" answer saves asking the store again for a forgotten subject.
/// <para>
/// With a key store several processes share (<see cref="IForgetNotifications"/>), a cached answer is used only while
/// the news of forgets is current (delivered up to at most the store's bound ago), or within that bound of its read:
/// then no forget committed more than the bound ago can have been missed. A key read from the store before a forget
/// but set after its eviction would outlive the eviction: <see cref="Stamp"/> before reading, and a set that an
/// eviction has overtaken is used once and not kept.
/// </para>
/// </summary>
internal sealed class KeyCache : IDisposable
{
    private readonly ConcurrentDictionary<string, CachedKey> _keys = new(StringComparer.Ordinal);
    private readonly Lock _trimLock = new();
    private readonly int _capacity;
    private readonly TimeSpan _duration;
    private readonly TimeProvider _timeProvider;
    private readonly IForgetNotifications? _news;
    private readonly IDisposable? _subscription;
    private long _uses;
    private long _evictions;

    public KeyCache(int capacity, TimeSpan duration, TimeProvider timeProvider, IForgetNotifications? news)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
        _duration = duration;
        _timeProvider = timeProvider;
        _news = news;
        _subscription = news?.Subscribe(subject =>
        {
            if (subject is null)
            {
                Clear();
            }
            else
            {
                Evict(subject);
            }
        });
    }

    /// <summary>The eviction count now: take it before reading a key from the store, and give it to <see cref="Set"/>.</summary>
    public long Stamp => Interlocked.Read(ref _evictions);

    /// <summary>The cached answer for <paramref name="subjectId"/>, if it may be used: a key, or a known absence.</summary>
    public bool TryGet(string subjectId, out CachedKey entry)
    {
        if (_keys.TryGetValue(subjectId, out entry!) && entry.ExpiresAt > _timeProvider.GetUtcNow() && IsTrusted(entry))
        {
            entry.LastUsed = Interlocked.Increment(ref _uses);
            CountLookup(hit: true);
            return true;
        }

        entry = null!;
        CountLookup(hit: false);
        return false;
    }

    private static void CountLookup(bool hit)
    {
        if (Telemetry.KeyLookups.Enabled)
        {
            Telemetry.KeyLookups.Add(1, new KeyValuePair<string, object?>(Telemetry.CacheHit, hit));
        }
    }

    /// <summary>
    /// Caches <paramref name="dataKey"/> (null: the subject has no key), read from the store at <paramref name="readAt"/>
    /// (a timestamp taken before the read) after <paramref name="stamp"/>, and returns the entry. The caller's array is
    /// zeroed: the entry keeps the key only inside its cipher.
    /// </summary>
    public CachedKey Set(string subjectId, byte[]? dataKey, long readAt, long stamp)
    {
        var entry = new CachedKey(dataKey, _timeProvider.GetUtcNow() + _duration, readAt) { LastUsed = Interlocked.Increment(ref _uses) };
        if (dataKey is not null)
        {
            CryptographicOperations.ZeroMemory(dataKey);
        }

        if (Stamp != stamp)
        {
            return entry; // evicted meanwhile: what was read may be what the eviction took away; used once, not kept
        }

        _keys.AddOrUpdate(subjectId, entry, (_, old) =>
        {
            old.Dispose();
            return entry;
        });
        if (Stamp != stamp)
        {
            _keys.TryRemove(new KeyValuePair<string, CachedKey>(subjectId, entry)); // an eviction ran while it was added: used once, not kept
            return entry;
        }

        if (_keys.Count > _capacity)
        {
            Trim();
        }

        return entry;
    }

    /// <summary>Drops the subject's key from memory.</summary>
    public void Evict(string subjectId)
    {
        Interlocked.Increment(ref _evictions);
        if (_keys.TryRemove(subjectId, out var entry))
        {
            entry.Dispose();
        }
    }

    /// <summary>Drops every key from memory.</summary>
    public void Clear()
    {
        Interlocked.Increment(ref _evictions);
        foreach (var subject in _keys.Keys)
        {
            if (_keys.TryRemove(subject, out var entry))
            {
                entry.Dispose();
            }
        }
    }

    public void Dispose()
    {
        _subscription?.Dispose();
        Clear();
    }

    /// <summary>Whether no forget can have been missed: no shared store, news current, or the entry read recently enough.</summary>
    private bool IsTrusted(CachedKey entry)
    {
        if (_news is null)
        {
            return true;
        }

        var bound = _news.PropagationBound;
        return _news.DeliveredBefore is { } delivered && _timeProvider.GetElapsedTime(delivered) <= bound
            || _timeProvider.GetElapsedTime(entry.ReadAt) <= bound;
    }

    private void Trim()
    {
        lock (_trimLock)
        {
            if (_keys.Count <= _capacity)
            {
                return;
            }

            var target = _capacity * 9 / 10;
            // ToArray on the dictionary itself is one consistent snapshot; LINQ over it would copy into an array sized
            // before other threads added keys, and fail.
            var snapshot = _keys.ToArray();
            foreach (var pair in snapshot.OrderBy(pair => pair.Value.LastUsed).Take(snapshot.Length - target).ToArray())
            {
                if (_keys.TryRemove(pair))
                {
                    pair.Value.Dispose(); // not an eviction: the key is still valid, only no longer kept
                }
            }
        }
    }
}

/// <summary>
/// A cached key: one cipher, used under a lock (an <see cref="AesGcm"/> instance is not thread-safe), the key's id, and a
/// key derived from it for fingerprints (HMAC-SHA256), which dies with it.
/// </summary>
internal sealed class CachedKey : IDisposable
{
    private static readonly byte[] FingerprintInfo = "es-pd fingerprint v1"u8.ToArray();
    private readonly Lock _lock = new();
    private AesGcm? _cipher;
    private byte[]? _fingerprintKey;
    private bool _disposed;

    public CachedKey(byte[]? dataKey, DateTimeOffset expiresAt, long readAt)
    {
        ReadAt = readAt;
        _cipher = dataKey is null ? null : new AesGcm(dataKey, 16);
        _fingerprintKey = dataKey is null ? null : HKDF.DeriveKey(HashAlgorithmName.SHA256, dataKey, 32, info: FingerprintInfo);
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

    /// <summary>When the key was read from the store (a timestamp taken before the read).</summary>
    public long ReadAt { get; }

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

    /// <summary>The keyed hash of <paramref name="data"/>; false if the entry was evicted meanwhile.</summary>
    public bool TryFingerprint(ReadOnlySpan<byte> data, Span<byte> hash)
    {
        lock (_lock)
        {
            if (_disposed || _fingerprintKey is null)
            {
                return false;
            }

            HMACSHA256.HashData(_fingerprintKey, data, hash);
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
            if (_fingerprintKey is not null)
            {
                CryptographicOperations.ZeroMemory(_fingerprintKey);
                _fingerprintKey = null;
            }
        }
    }
}
