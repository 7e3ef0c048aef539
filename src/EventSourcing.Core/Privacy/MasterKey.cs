using System.Security.Cryptography;
using System.Text;

namespace EventSourcing.Privacy;

/// <summary>The key that wraps (encrypts) every subject's data key at rest, so a database dump alone reveals nothing.</summary>
public sealed class MasterKey
{
    private readonly byte[] _key;

    /// <summary>Creates a master key named <paramref name="id"/> from 32 bytes.</summary>
    public MasterKey(string id, byte[] key)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length != 32)
        {
            throw new ArgumentException($"A master key is 32 bytes (AES-256); got {key.Length}.", nameof(key));
        }

        Id = id;
        _key = [.. key];
    }

    /// <summary>The key's name, stored with what it wraps.</summary>
    public string Id { get; }

    /// <summary>Reads a base64 master key, with a clear error for a malformed one.</summary>
    public static MasterKey FromBase64(string id, string base64)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(base64);
        try
        {
            var key = Convert.FromBase64String(base64);
            return key.Length == 32 ? new MasterKey(id, key) : throw new ArgumentException(
                $"The master key (EventSourcing:PersonalData:MasterKey) is {key.Length} bytes; it must be 32 random bytes, base64-encoded (for example from `openssl rand -base64 32`).", nameof(base64));
        }
        catch (FormatException exception)
        {
            throw new ArgumentException("The master key (EventSourcing:PersonalData:MasterKey) is not valid base64; it must be 32 random bytes, base64-encoded (for example from `openssl rand -base64 32`).", nameof(base64), exception);
        }
    }

    /// <summary>A new random master key (for development and tests).</summary>
    public static MasterKey Generate(string id = "generated") => new(id, RandomNumberGenerator.GetBytes(32));

    /// <summary>Encrypts <paramref name="dataKey"/> for <paramref name="subjectId"/>: nonce, tag and ciphertext.</summary>
    public byte[] Wrap(string subjectId, ReadOnlySpan<byte> dataKey)
    {
        var wrapped = new byte[12 + 16 + dataKey.Length];
        RandomNumberGenerator.Fill(wrapped.AsSpan(0, 12));
        using var aes = new AesGcm(_key, 16);
        aes.Encrypt(wrapped.AsSpan(0, 12), dataKey, wrapped.AsSpan(28), wrapped.AsSpan(12, 16), AssociatedData(subjectId));
        return wrapped;
    }

    /// <summary>Decrypts a data key wrapped by <see cref="Wrap"/> for the same subject.</summary>
    /// <exception cref="CryptographicException">Another master key wrapped it, or it was altered.</exception>
    public byte[] Unwrap(string subjectId, ReadOnlySpan<byte> wrapped)
    {
        if (wrapped.Length < 28)
        {
            throw new CryptographicException("The wrapped key is too short.");
        }

        var dataKey = new byte[wrapped.Length - 28];
        using var aes = new AesGcm(_key, 16);
        aes.Decrypt(wrapped[..12], wrapped[28..], wrapped.Slice(12, 16), dataKey, AssociatedData(subjectId));
        return dataKey;
    }

    private static byte[] AssociatedData(string subjectId) => Encoding.UTF8.GetBytes($"es-key:v1:{subjectId}");
}
