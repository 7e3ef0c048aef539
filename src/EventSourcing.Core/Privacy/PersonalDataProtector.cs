using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace EventSourcing.Privacy;

/// <summary>
/// Encrypts and decrypts personal values under their subject's data key. A protected value (format version 1, views,
/// snapshots and events written alone) is the string
/// <c>es-pd:v1:{subject, base64url}:{key id}:{nonce, tag and ciphertext, base64}</c>: AES-256-GCM, a fresh 96-bit nonce
/// per value, and associated data binding the subject, the key id, the declaring type and the property, so ciphertext
/// moved to another subject, type or property fails to decrypt. In events written by a store (format version 2) the
/// values of one subject are sealed together, each with the type and property it was written at, in one AES-GCM
/// operation (<see cref="GroupPrefix"/>). The subject id stays readable: it is how the key is found; the key id tells a
/// value of a forgotten key (erased) from one of the subject's current key.
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

    /// <summary>
    /// The prefix of format version 2, in events: a group of one subject's values in one event, sealed together
    /// (<c>es-pd:v2:{subject}:{key id}:{sealed}</c>, in the event's <c>"#"</c> property).
    /// </summary>
    public const string GroupPrefix = "es-pd:v2:";

    /// <summary>
    /// The prefix of a reference to a value in a group of format version 2, where the value was:
    /// <c>es-pd:ref:{group}:{value}</c>, the indexes of the group in the event's <c>"#"</c> array and of the value in it.
    /// </summary>
    public const string ReferencePrefix = "es-pd:ref:";

    /// <summary>The scope a group is sealed under: no property's (those are <c>Type.Property</c>), so a group and a value never pass for each other.</summary>
    private const string GroupScope = "#v2";

    /// <summary>The key id of a group written with every value erased (no key sealed it).</summary>
    private const string ErasedGroup = "-";

    /// <summary>The prefix of a reference of format version 2, UTF-8.</summary>
    internal static ReadOnlySpan<byte> ReferencePrefixBytes => "es-pd:ref:"u8;

    private const int NonceSize = 12;
    private const int TagSize = 16;
    private static readonly byte[] VersionedPrefixUtf8 = "es-pd:v"u8.ToArray();
    private static readonly byte[] GroupPrefixUtf8 = Encoding.UTF8.GetBytes(GroupPrefix);

    [ThreadStatic]
    private static byte[]? _nonces;

    [ThreadStatic]
    private static int _noncesUsed;

    [ThreadStatic]
    private static byte[]? _associated;

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
        var (keyId, sealedValue) = Seal(subjectId, scope, plaintext);
        return string.Concat(Prefix, Base64Url.EncodeToString(Encoding.UTF8.GetBytes(subjectId)), ":", keyId, ":", Convert.ToBase64String(sealedValue));
    }

    /// <summary>
    /// Opens a group sealed by <see cref="SealGroup"/> (<paramref name="value"/>, UTF-8), writing its plaintext into
    /// <paramref name="plaintext"/>. False (and nothing written) when the subject's key is gone, or the group was written
    /// with every value already erased: its values read as erased. Gives the subject and the length of its token (which
    /// follows the prefix). Throws <see cref="PersonalDataTamperedException"/> (naming <paramref name="location"/>) when the
    /// group is malformed or fails authentication.
    /// </summary>
    internal bool TryOpenGroup(ReadOnlySpan<byte> value, string location, IBufferWriter<byte> plaintext, out string subjectId, out int tokenLength)
    {
        if (!value.StartsWith(GroupPrefixUtf8))
        {
            throw new PersonalDataTamperedException(location);
        }

        var rest = value[GroupPrefixUtf8.Length..];
        tokenLength = rest.IndexOf((byte)':');
        if (tokenLength <= 0)
        {
            throw new PersonalDataTamperedException(location);
        }

        var afterToken = rest[(tokenLength + 1)..];
        var keySeparator = afterToken.IndexOf((byte)':');
        byte[]? rented = null;
        try
        {
            subjectId = Encoding.UTF8.GetString(Base64Url.DecodeFromUtf8(rest[..tokenLength]));
            if (keySeparator < 0)
            {
                return afterToken.SequenceEqual("-"u8) ? false : throw new PersonalDataTamperedException(location);
            }

            var keyId = Encoding.UTF8.GetString(afterToken[..keySeparator]);
            var encoded = afterToken[(keySeparator + 1)..];
            rented = ArrayPool<byte>.Shared.Rent(Base64Url.GetMaxDecodedLength(encoded.Length));
            var sealedLength = Base64Url.DecodeFromUtf8(encoded, rented);
            if (sealedLength < NonceSize + TagSize)
            {
                throw new PersonalDataTamperedException(location);
            }

            var output = plaintext.GetSpan(sealedLength - NonceSize - TagSize)[..(sealedLength - NonceSize - TagSize)];
            if (!TryOpen(subjectId, keyId, rented.AsSpan(0, sealedLength), GroupScope, location, output))
            {
                return false;
            }

            plaintext.Advance(output.Length);
            return true;
        }
        catch (FormatException exception)
        {
            throw new PersonalDataTamperedException(location, exception);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Writes what a group is when every value in it was already erased and the subject is forgotten: <c>es-pd:v2:{subject}:-</c>.</summary>
    internal static void WriteErasedGroup(ReadOnlySpan<byte> subjectToken, IBufferWriter<byte> destination)
    {
        var span = destination.GetSpan(GroupPrefixUtf8.Length + subjectToken.Length + 2);
        GroupPrefixUtf8.CopyTo(span);
        subjectToken.CopyTo(span[GroupPrefixUtf8.Length..]);
        span[GroupPrefixUtf8.Length + subjectToken.Length] = (byte)':';
        span[GroupPrefixUtf8.Length + subjectToken.Length + 1] = (byte)ErasedGroup[0];
        destination.Advance(GroupPrefixUtf8.Length + subjectToken.Length + 2);
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

        var output = new byte[sealedValue.Length - NonceSize - TagSize];
        if (!TryOpen(subjectId, keyId, sealedValue, scope, scope, output))
        {
            return false;
        }

        plaintext = output;
        return true;
    }

    /// <summary>Encrypts under the subject's current key (created if it has none); the key's id and nonce, tag and ciphertext.</summary>
    private (string KeyId, byte[] Sealed) Seal(string subjectId, string scope, ReadOnlySpan<byte> plaintext)
    {
        var sealedValue = new byte[SealedLength(plaintext.Length)];
        return (Seal(subjectId, scope, plaintext, sealedValue), sealedValue);
    }

    /// <summary>The length of nonce, tag and ciphertext of <paramref name="plaintextLength"/> bytes.</summary>
    internal static int SealedLength(int plaintextLength) => NonceSize + TagSize + plaintextLength;

    /// <summary>Encrypts into <paramref name="sealedValue"/> (nonce, tag, ciphertext: <see cref="SealedLength"/> bytes) under the subject's current key; its id.</summary>
    private string Seal(string subjectId, string scope, ReadOnlySpan<byte> plaintext, Span<byte> sealedValue)
    {
        var nonce = sealedValue[..NonceSize];
        NextNonce(nonce);
        for (var attempt = 0; ; attempt++)
        {
            var key = KeyFor(subjectId, create: true);
            var associated = AssociatedData(subjectId, key.KeyId, scope, out var rented);
            try
            {
                if (key.TryEncrypt(nonce, plaintext, sealedValue[(NonceSize + TagSize)..], sealedValue.Slice(NonceSize, TagSize), associated))
                {
                    return key.KeyId;
                }
            }
            finally
            {
                if (rented is not null)
                {
                    ArrayPool<byte>.Shared.Return(rented);
                }
            }

            if (attempt > 3)
            {
                throw new SubjectForgottenException(subjectId);
            }

            _cache.Evict(subjectId); // evicted or forgotten meanwhile: ask the store again
        }
    }

    /// <summary>
    /// Seals the personal values of one subject in one event together (format version 2): one AES-GCM operation over
    /// <paramref name="plaintext"/> (the values and where each was written), written UTF-8 into <paramref name="destination"/> as
    /// <c>es-pd:v2:{subject, base64url}:{key id}:{nonce, tag and ciphertext, base64url}</c>. <paramref name="subjectToken"/>
    /// is the subject's id in base64url, as the event's references to the values carry it.
    /// </summary>
    /// <exception cref="SubjectForgottenException">The subject was forgotten and may not get a new key.</exception>
    internal void SealGroup(string subjectId, ReadOnlySpan<byte> subjectToken, ReadOnlySpan<byte> plaintext, IBufferWriter<byte> destination)
    {
        var rented = ArrayPool<byte>.Shared.Rent(SealedLength(plaintext.Length));
        try
        {
            var sealedValue = rented.AsSpan(0, SealedLength(plaintext.Length));
            var keyId = Seal(subjectId, GroupScope, plaintext, sealedValue);
            var length = GroupPrefixUtf8.Length + subjectToken.Length + 1 + keyId.Length + 1 + Base64Url.GetEncodedLength(sealedValue.Length);
            var span = destination.GetSpan(length);
            GroupPrefixUtf8.CopyTo(span);
            var at = GroupPrefixUtf8.Length;
            subjectToken.CopyTo(span[at..]);
            at += subjectToken.Length;
            span[at++] = (byte)':';
            at += Encoding.UTF8.GetBytes(keyId, span[at..]);
            span[at++] = (byte)':';
            at += Base64Url.EncodeToUtf8(sealedValue, span[at..]);
            destination.Advance(at);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>Decrypts nonce, tag and ciphertext into <paramref name="output"/>; false when the key that sealed them is gone (erased).</summary>
    private bool TryOpen(string subjectId, string keyId, ReadOnlySpan<byte> sealedValue, string scope, string location, Span<byte> output)
    {
        if (sealedValue.Length < NonceSize + TagSize || output.Length != sealedValue.Length - NonceSize - TagSize)
        {
            throw new PersonalDataTamperedException(location);
        }

        while (true)
        {
            var key = KeyFor(subjectId, create: false);
            if (!key.HasKey || (_keysMayBeReplaced && key.KeyId != keyId))
            {
                return false; // forgotten: the key that protected this value is gone
            }

            var associated = AssociatedData(subjectId, keyId, scope, out var rented);
            try
            {
                if (key.TryDecrypt(sealedValue[..NonceSize], sealedValue[(NonceSize + TagSize)..], sealedValue.Slice(NonceSize, TagSize), output, associated))
                {
                    return true;
                }
            }
            catch (AuthenticationTagMismatchException exception)
            {
                throw new PersonalDataTamperedException(location, exception);
            }
            finally
            {
                if (rented is not null)
                {
                    ArrayPool<byte>.Shared.Return(rented);
                }
            }

            // evicted meanwhile: look the key up again
        }
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

    /// <summary>
    /// <c>{subject}\n{key id}\n{scope}</c>, UTF-8, in a thread's scratch buffer (or, when longer, in <paramref name="rented"/>,
    /// to return to the shared pool): valid until the next call on the thread.
    /// </summary>
    private static ReadOnlySpan<byte> AssociatedData(string subjectId, string keyId, string scope, out byte[]? rented)
    {
        var length = Encoding.UTF8.GetMaxByteCount(subjectId.Length + keyId.Length + scope.Length + 2);
        rented = length > 512 ? ArrayPool<byte>.Shared.Rent(length) : null;
        var buffer = rented ?? (_associated ??= new byte[512]);
        var at = Encoding.UTF8.GetBytes(subjectId, buffer);
        buffer[at++] = (byte)'\n';
        at += Encoding.UTF8.GetBytes(keyId, buffer.AsSpan(at));
        buffer[at++] = (byte)'\n';
        at += Encoding.UTF8.GetBytes(scope, buffer.AsSpan(at));
        return buffer.AsSpan(0, at);
    }

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

    /// <summary>The subjects of the protected values, sealed groups and references to them in <paramref name="json"/> (<c>es-pd:v{n}:{subject}:</c>).</summary>
    private static void CollectSubjects(ReadOnlySpan<byte> json, HashSet<string> subjects)
    {
        while (json.IndexOf(VersionedPrefixUtf8) is var at and >= 0)
        {
            json = json[(at + VersionedPrefixUtf8.Length)..];
            var version = json.IndexOf((byte)':');
            if (version <= 0)
            {
                return;
            }

            json = json[(version + 1)..];
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
