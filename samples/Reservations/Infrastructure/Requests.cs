using System.Globalization;
using System.Text.RegularExpressions;
using EventSourcing.Events;
using Reservations.Security;

namespace Reservations;

/// <summary>What a request says about the command it carries: its id (<c>Idempotency-Key</c>) and the version it expects (<c>If-Match</c>).</summary>
public static partial class Requests
{
    public const string IdempotencyKeyHeader = "Idempotency-Key";

    /// <summary>What an <c>Idempotency-Key</c> may be: 1 to 100 letters, digits and <c>-_.:</c>.</summary>
    public const string KeyPatternText = @"^[A-Za-z0-9\-_.:]{1,100}$";

    /// <summary>What an <c>If-Match</c> may be: <c>*</c>, or a version, quoted or not, weak or not.</summary>
    public const string IfMatchPatternText = @"^\s*(\*|(W/)?""?[0-9]+""?)\s*$";

    /// <summary>
    /// The command id: a uuid derived from the client (<see cref="Clients.Scope"/>) and its <c>Idempotency-Key</c> (1 to
    /// 100 characters of letters, digits and <c>-_.:</c>), so that a key is a key of one client only: another client
    /// sending the same key sends another command and never sees the first one's result. <see cref="Guid.Empty"/> without a key.
    /// </summary>
    /// <exception cref="InvalidHeaderException">The key is malformed (400).</exception>
    public static Guid CommandId(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!context.Request.Headers.TryGetValue(IdempotencyKeyHeader, out var values))
        {
            return Guid.Empty;
        }

        var key = values.Count == 1 ? values[0] : null;
        if (key is null || !KeyPattern().IsMatch(key))
        {
            throw new InvalidHeaderException(IdempotencyKeyHeader, $"The {IdempotencyKeyHeader} header must be one value of 1 to 100 letters, digits or -_.: characters.");
        }

        // The key cannot hold a line break, so the last line is the key and everything before it the client.
        return EventIds.FromName($"idempotency-key\n{Clients.Scope(context)}\n{key}");
    }

    /// <summary>The version of <c>If-Match</c> (<c>"3"</c>, <c>W/"3"</c> or <c>3</c>); null without one or for <c>*</c>.</summary>
    /// <exception cref="InvalidHeaderException">The header is not a version (400).</exception>
    public static long? IfMatch(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var value = context.Request.Headers.IfMatch.ToString().Trim();
        if (value.Length == 0 || value == "*")
        {
            return null;
        }

        var tag = value.StartsWith("W/", StringComparison.Ordinal) ? value[2..] : value;
        return long.TryParse(tag.Trim('"'), NumberStyles.None, CultureInfo.InvariantCulture, out var version) && version >= 0
            ? version
            : throw new InvalidHeaderException("If-Match", "If-Match must be the version from the ETag of the reservation, such as \"3\".");
    }

    [GeneratedRegex(KeyPatternText, RegexOptions.CultureInvariant)]
    private static partial Regex KeyPattern();
}
