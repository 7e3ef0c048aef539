using System.Buffers.Binary;
using System.Security.Cryptography;

namespace EventSourcing.Events;

/// <summary>
/// Event ids derived from the command that produced the events, so that the same command appended twice
/// yields the same ids and the store can recognise the second append as a repeat.
/// </summary>
public static class EventIds
{
    /// <summary>
    /// The id of the <paramref name="index"/>-th event produced by command <paramref name="commandId"/>:
    /// a name-based (RFC 9562 version 8) UUID over the command id and the index.
    /// </summary>
    public static Guid FromCommand(Guid commandId, int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        Span<byte> input = stackalloc byte[20];
        commandId.TryWriteBytes(input, bigEndian: true, out _);
        BinaryPrimitives.WriteInt32BigEndian(input[16..], index);
        return FromHashOf(input);
    }

    /// <summary>
    /// A name-based (RFC 9562 version 8) UUID: the first 16 bytes of the SHA-256 of <paramref name="name"/>'s UTF-8, for
    /// ids that must come out the same each time they are derived (a command id from an idempotency key, or from the
    /// event a reactor handles). Put every part of the name in it, separated so that no two names can run together.
    /// </summary>
    public static Guid FromName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return FromHashOf(System.Text.Encoding.UTF8.GetBytes(name));
    }

    private static Guid FromHashOf(ReadOnlySpan<byte> input)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(input, hash);
        hash[6] = (byte)((hash[6] & 0x0F) | 0x80); // version 8
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80); // RFC 9562 variant
        return new Guid(hash[..16], bigEndian: true);
    }
}
