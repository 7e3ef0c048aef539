using System.Text;

namespace EventSourcing.Nats;

/// <summary>
/// The subject an event is published on: <c>{prefix}.{category}.{stream id}</c>, where the category is the stream id up to
/// its first <c>-</c> (the whole id when it has none, or starts with one). Both tokens are encoded so that any stream id
/// makes one valid subject token: every character other than an ASCII letter, digit, <c>-</c> or <c>_</c> is written as
/// <c>%XX</c> per UTF-8 byte (upper-case hex), as in URL percent-encoding. So <c>order-17</c> gives
/// <c>eventsourcing.order.order-17</c>, and <c>order-a.b c</c> gives <c>eventsourcing.order.order-a%2Eb%20c</c>;
/// <see cref="DecodeToken"/> reverses it.
/// </summary>
public static class NatsSubjects
{
    /// <summary>The subject of an event of <paramref name="streamId"/>.</summary>
    /// <param name="prefix">The subject prefix (<see cref="NatsTransportOptions.SubjectPrefix"/>).</param>
    /// <param name="streamId">The event's stream id; not empty.</param>
    /// <returns><c>{prefix}.{category}.{stream id}</c>, tokens encoded.</returns>
    public static string For(string prefix, string streamId)
    {
        ArgumentException.ThrowIfNullOrEmpty(prefix);
        ArgumentException.ThrowIfNullOrEmpty(streamId);
        return $"{prefix}.{EncodeToken(Category(streamId))}.{EncodeToken(streamId)}";
    }

    /// <summary>The stream id up to its first <c>-</c>; the whole id when it has none, or starts with one.</summary>
    /// <param name="streamId">A stream id.</param>
    /// <returns>The category, not encoded.</returns>
    public static string Category(string streamId)
    {
        ArgumentNullException.ThrowIfNull(streamId);
        var dash = streamId.IndexOf('-', StringComparison.Ordinal);
        return dash > 0 ? streamId[..dash] : streamId;
    }

    /// <summary>Encodes a string as one subject token: ASCII letters, digits, <c>-</c> and <c>_</c> as they are, all else <c>%XX</c>.</summary>
    /// <param name="value">The string; not empty.</param>
    /// <returns>The token.</returns>
    public static string EncodeToken(string value)
    {
        ArgumentException.ThrowIfNullOrEmpty(value);
        if (value.All(IsPlain))
        {
            return value;
        }

        var builder = new StringBuilder(value.Length + 16);
        Span<byte> bytes = stackalloc byte[4];
        foreach (var rune in value.EnumerateRunes())
        {
            if (rune.IsAscii && IsPlain((char)rune.Value))
            {
                builder.Append((char)rune.Value);
                continue;
            }

            var count = rune.EncodeToUtf8(bytes);
            foreach (var b in bytes[..count])
            {
                builder.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return builder.ToString();
    }

    /// <summary>Decodes a token made by <see cref="EncodeToken"/>.</summary>
    /// <param name="token">The token.</param>
    /// <returns>The string it encodes.</returns>
    public static string DecodeToken(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return token.Contains('%', StringComparison.Ordinal) ? Uri.UnescapeDataString(token) : token;
    }

    private static bool IsPlain(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '_';
}
