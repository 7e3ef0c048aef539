namespace Reservations.Security;

/// <summary>
/// Who sent a request, as far as the API can tell: the authenticated principal's name; otherwise the remote IP address
/// (behind a reverse proxy that is the proxy's, unless forwarded headers are configured); otherwise one shared
/// <see cref="Unknown"/> client. Idempotency keys are scoped to the client, and write rate limits are counted per client.
/// </summary>
public static class Clients
{
    /// <summary>The scope of every request whose sender is neither authenticated nor has a remote address.</summary>
    public const string Unknown = "unknown";

    /// <summary>The client's scope: <c>user:{name}</c>, <c>ip:{address}</c> (IPv4 clients seen through IPv6 as IPv4) or <see cref="Unknown"/>.</summary>
    public static string Scope(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.User.Identity is { IsAuthenticated: true, Name: { Length: > 0 } name })
        {
            return $"user:{name}";
        }

        return context.Connection.RemoteIpAddress switch
        {
            null => Unknown,
            { IsIPv4MappedToIPv6: true } mapped => $"ip:{mapped.MapToIPv4()}",
            var address => $"ip:{address}",
        };
    }
}
