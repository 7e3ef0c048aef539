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
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(input, hash);
        hash[6] = (byte)((hash[6] & 0x0F) | 0x80); // version 8
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80); // RFC 9562 variant
        return new Guid(hash[..16], bigEndian: true);
    }
}
