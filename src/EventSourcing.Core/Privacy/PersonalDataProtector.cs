using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace EventSourcing.Privacy;

/// <summary>
/// Encrypts and decrypts personal values under their subject's data key. A protected value is the string
/// <c>es-pd:v1:{subject, base64url}:{key id}:{nonce, tag and ciphertext, base64}</c>: AES-256-GCM, a fresh 96-bit nonce
/// per value, and associated data binding the subject, the key id, the declaring type and the property, so ciphertext
/// moved to another subject, type or property fails to decrypt. The subject id stays readable: it is how the key is
/// found; the key id tells a value of a forgotten key (erased) from one of the subject's current key.
/// </summary>
public sealed class PersonalDataProtector : IDisposable
{
    /// <summary>The prefix of a protected value (format version 1).</summary>
    public const string Prefix = "es-pd:v1:";

    /// <summary>What an erased value is written as when an object holding it is stored again after the subject was forgotten.</summary>
    public const string ErasedMarker = "es-pd:erased";

    /// <summary>The prefix of a personal value's fingerprint (<see cref="Fingerprint"/>).</summary>
    internal const string FingerprintPrefix = "es-pd:fp:";

    /// <summary>What every protected or erased value starts with: JSON without it holds no personal data of any subject.</summary>
    internal static ReadOnlySpan<byte> MarkerUtf8 => "es-pd:"u8;

    private const int NonceSize = 12;
    private const int TagSize = 16;
    private static readonly byte[] PrefixUtf8 = Encoding.UTF8.GetBytes(Prefix);

    [ThreadStatic]
    private static byte[]? _nonces;

    [ThreadStatic]
    private static int _noncesUsed;

    private readonly IKeyStore _keys;
    private readonly KeyCache _cache;
    private readonly TimeProvider _timeProvider;
    private readonly bool _keysMayBeReplaced;

    /// <summary>Creates the protector over a key store (one shared by several processes keeps this one's cache coherent through <see cref="IForgetNotifications"/>).</summary>
    public PersonalDataProtector(IKeyStore keys, IOptions<PersonalDataOptions>? options = null, TimeProvider? timeProvider = null)
    {
        _keys = keys ?? throw new ArgumentNullException(nameof(keys));
        var settings = options?.Value ?? new PersonalDataOptions();
        _keysMayBeReplaced = settings.AllowNewKeyAfterForget;
        Placeholder = settings.ErasedPlaceholder;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _cache = new KeyCache(settings.KeyCacheSize, settings.KeyCacheDuration, _timeProvider, keys as IForgetNotifications);
    }

    /// <summary>What erased strings read as.</summary>
    public string Placeholder { get; }

    /// <summary>
    /// Loads (or creates) the keys of <paramref name="subjects"/> ahead of writing, so serialization finds them cached.
    /// False when one of them was forgotten (and may not get a new key): writing a value of theirs will then fail with
    /// <see cref="SubjectForgottenException"/>, so a store can find out before it takes anything (a sequence number) for the write.
    /// </summary>
    public async Task<bool> PrepareWriteAsync(IEnumerable<string> subjects, CancellationToken cancellationToken) =>
        (await PrepareWriteCoreAsync(subjects, cancellationToken).ConfigureAwait(false)).Count == 0;

    /// <summary>As <see cref="PrepareWriteAsync"/>; returns the subjects that were forgotten (and may not get a new key).</summary>
    internal async Task<IReadOnlySet<string>> PrepareWriteCoreAsync(IEnumerable<string> subjects, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(subjects);
        var forgotten = new HashSet<string>(StringComparer.Ordinal);
        foreach (var subject in subjects.Distinct(StringComparer.Ordinal))
        {
            if (_cache.TryGet(subject, out var cached) && cached.HasKey)
            {
                continue;
            }

            var (stamp, readAt) = (_cache.Stamp, _timeProvider.GetTimestamp());
            try
            {
                _cache.Set(subject, await _keys.GetOrCreateAsync(subject, cancellationToken).ConfigureAwait(false), readAt, stamp);
            }
            catch (SubjectForgottenException)
            {
                _cache.Set(subject, null, readAt, stamp); // the write decides: an erased value may be stored again, a real one may not
                forgotten.Add(subject);
            }
        }

        return forgotten;
    }

    /// <summary>
    /// Loads the keys of the subjects whose values appear in <paramref name="json"/>, ahead of reading it; none for a
    /// reader that reads no personal data (a projection whose <c>ReadsPersonalData</c> is false), which leaves them sealed.
    /// </summary>
    public async Task PrepareReadAsync(IEnumerable<ReadOnlyMemory<byte>> json, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(json);
        if (SealedReads.IsActive)
        {
            return;
        }

        var subjects = new HashSet<string>(StringComparer.Ordinal);
        foreach (var document in json)
        {
            CollectSubjects(document.Span, subjects);
        }

        foreach (var subject in subjects)
        {
            if (!_cache.TryGet(subject, out _))
            {
                var (stamp, readAt) = (_cache.Stamp, _timeProvider.GetTimestamp());
                _cache.Set(subject, await _keys.FindAsync(subject, cancellationToken).ConfigureAwait(false), readAt, stamp);
            }
        }
    }

    /// <summary>Forgets the subject's key in this process (the key store deletes it for good).</summary>
    public void Evict(string subjectId) => _cache.Evict(subjectId);

    /// <summary>
    /// A keyed hash of a personal value (<paramref name="plaintext"/>, its JSON) of <paramref name="subjectId"/> at
    /// <paramref name="scope"/>: equal for equal values under the subject's current key, and meaningless once the key is
    /// deleted (it cannot be computed again, so a stored one lets nobody test a guess). Used for idempotency fingerprints.
    /// </summary>
    /// <exception cref="SubjectForgottenException">The subject was forgotten and may not get a new key.</exception>
    public string Fingerprint(string subjectId, string scope, ReadOnlySpan<byte> plaintext)
    {
        ArgumentException.ThrowIfNullOrEmpty(subjectId);
        var data = new byte[Encoding.UTF8.GetByteCount(scope) + 1 + plaintext.Length];
        var written = Encoding.UTF8.GetBytes(scope, data);
        data[written] = (byte)'\n';
        plaintext.CopyTo(data.AsSpan(written + 1));
        Span<byte> hash = stackalloc byte[32];
        for (var attempt = 0; !KeyFor(subjectId, create: true).TryFingerprint(data, hash); attempt++)
        {
            if (attempt > 3)
            {
                throw new SubjectForgottenException(subjectId);
            }

            _cache.Evict(subjectId); // evicted or forgotten meanwhile: ask the store again
        }

        return string.Concat(FingerprintPrefix, Convert.ToBase64String(hash));
    }

    /// <summary>Protects <paramref name="plaintext"/> (a value's JSON) of <paramref name="subjectId"/> at <paramref name="scope"/> (type and property).</summary>
    /// <exception cref="SubjectForgottenException">The subject was forgotten and may not get a new key.</exception>
    public string Protect(string subjectId, string scope, ReadOnlySpan<byte> plaintext)
    {
        ArgumentException.ThrowIfNullOrEmpty(subjectId);
        var sealedValue = new byte[NonceSize + TagSize + plaintext.Length];
        var nonce = sealedValue.AsSpan(0, NonceSize);
        NextNonce(nonce);
        string keyId;
        for (var attempt = 0; ; attempt++)
        {
            var key = KeyFor(subjectId, create: true);
            keyId = key.KeyId;
            if (key.TryEncrypt(nonce, plaintext, sealedValue.AsSpan(NonceSize + TagSize), sealedValue.AsSpan(NonceSize, TagSize), AssociatedData(subjectId, keyId, scope)))
            {
                break;
            }

            if (attempt > 3)
            {
                throw new SubjectForgottenException(subjectId);
            }

            _cache.Evict(subjectId); // evicted or forgotten meanwhile: ask the store again
        }

        return string.Concat(Prefix, Base64Url.EncodeToString(Encoding.UTF8.GetBytes(subjectId)), ":", keyId, ":", Convert.ToBase64String(sealedValue));
    }

    /// <summary>
    /// Decrypts a protected value read at <paramref name="scope"/>. False (and no plaintext) when the subject's key is gone:
    /// the value is erased. Throws <see cref="PersonalDataTamperedException"/> when authentication fails.
    /// </summary>
    public bool TryUnprotect(string value, string scope, out byte[]? plaintext) => TryUnprotect(value, scope, out plaintext, out _);

    /// <summary>As <see cref="TryUnprotect(string, string, out byte[])"/>, also giving the subject the value belongs to.</summary>
    internal bool TryUnprotect(string value, string scope, out byte[]? plaintext, out string subjectId)
    {
        ArgumentNullException.ThrowIfNull(value);
        plaintext = null;
        var separator = value.IndexOf(':', Prefix.Length);
        var keySeparator = separator < 0 ? -1 : value.IndexOf(':', separator + 1);
        if (!value.StartsWith(Prefix, StringComparison.Ordinal) || keySeparator < 0)
        {
            throw new PersonalDataTamperedException(scope);
        }

        byte[] sealedValue;
        string keyId;
        try
        {
            subjectId = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(value.AsSpan(Prefix.Length, separator - Prefix.Length)));
            keyId = value[(separator + 1)..keySeparator];
            sealedValue = Convert.FromBase64String(value[(keySeparator + 1)..]);
        }
        catch (FormatException exception)
        {
            throw new PersonalDataTamperedException(scope, exception);
        }

        if (sealedValue.Length < NonceSize + TagSize)
        {
            throw new PersonalDataTamperedException(scope);
        }

        var key = KeyFor(subjectId, create: false);
        if (!key.HasKey || (_keysMayBeReplaced && key.KeyId != keyId))
        {
            return false; // forgotten: the key that protected this value is gone
        }

        var output = new byte[sealedValue.Length - NonceSize - TagSize];
        try
        {
            if (!key.TryDecrypt(sealedValue.AsSpan(0, NonceSize), sealedValue.AsSpan(NonceSize + TagSize), sealedValue.AsSpan(NonceSize, TagSize), output, AssociatedData(subjectId, keyId, scope)))
            {
                return TryUnprotect(value, scope, out plaintext, out _); // evicted meanwhile: look the key up again
            }
        }
        catch (AuthenticationTagMismatchException exception)
        {
            throw new PersonalDataTamperedException(scope, exception);
        }

        plaintext = output;
        return true;
    }

    /// <inheritdoc />
    public void Dispose() => _cache.Dispose();

    private CachedKey KeyFor(string subjectId, bool create)
    {
        if (_cache.TryGet(subjectId, out var cached) && (cached.HasKey || !create))
        {
            return cached;
        }

        // Not prepared ahead: a synchronous look-up (the key store's own synchronous I/O), cached for next time.
        var (stamp, readAt) = (_cache.Stamp, _timeProvider.GetTimestamp());
        return _cache.Set(subjectId, create ? _keys.GetOrCreate(subjectId) : _keys.Find(subjectId), readAt, stamp);
    }

    private static byte[] AssociatedData(string subjectId, string keyId, string scope) => Encoding.UTF8.GetBytes($"{subjectId}\n{keyId}\n{scope}");

    /// <summary>
    /// A fresh random nonce. Drawn from a per-thread block of CSPRNG output refilled 256 nonces at a time: one call into
    /// the system's generator costs about as much as a whole AES-GCM operation, so drawing one per value would double the cost.
    /// </summary>
    private static void NextNonce(Span<byte> nonce)
    {
        var block = _nonces;
        if (block is null || _noncesUsed + nonce.Length > block.Length)
        {
            block = _nonces ??= new byte[NonceSize * 256];
            RandomNumberGenerator.Fill(block);
            _noncesUsed = 0;
        }

        var next = block.AsSpan(_noncesUsed, nonce.Length);
        next.CopyTo(nonce);
        next.Clear(); // each nonce is handed out once
        _noncesUsed += nonce.Length;
    }

    private static void CollectSubjects(ReadOnlySpan<byte> json, HashSet<string> subjects)
    {
        while (json.IndexOf(PrefixUtf8) is var at and >= 0)
        {
            json = json[(at + PrefixUtf8.Length)..];
            var end = json.IndexOf((byte)':');
            if (end <= 0)
            {
                return;
            }

            try
            {
                subjects.Add(Encoding.UTF8.GetString(Base64Url.DecodeFromUtf8(json[..end])));
            }
            catch (FormatException)
            {
                // not a protected value after all; reading it will say so
            }

            json = json[end..];
        }
    }
}
