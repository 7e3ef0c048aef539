using System.Security.Cryptography;
using System.Text;

namespace Reservations.Administration;

/// <summary>
/// Guards the admin endpoints with the API key of <c>Admin:ApiKey</c>, sent as <c>X-Api-Key</c>: missing is 401, wrong
/// is 403 (compared in constant time). With no key configured the admin endpoints are closed (403).
/// </summary>
public sealed class AdminApiKeyFilter(IConfiguration configuration) : IEndpointFilter
{
    public const string Header = "X-Api-Key";

    /// <summary>The <c>WWW-Authenticate</c> challenge of a 401.</summary>
    public const string Challenge = $"ApiKey header=\"{Header}\"";

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var configured = configuration["Admin:ApiKey"];
        if (!context.HttpContext.Request.Headers.TryGetValue(Header, out var sent) || string.IsNullOrEmpty(sent))
        {
            context.HttpContext.Response.Headers.WWWAuthenticate = Challenge; // a 401 says how to authenticate (RFC 9110)
            return Problems.Status(StatusCodes.Status401Unauthorized, "An API key is required", $"Send the admin API key in the {Header} header.");
        }

        if (string.IsNullOrEmpty(configured))
        {
            return Problems.Status(StatusCodes.Status403Forbidden, "Admin endpoints are disabled", "No admin API key is configured (Admin:ApiKey).");
        }

        var expected = SHA256.HashData(Encoding.UTF8.GetBytes(configured));
        var actual = SHA256.HashData(Encoding.UTF8.GetBytes(sent.ToString()));
        if (!CryptographicOperations.FixedTimeEquals(expected, actual))
        {
            return Problems.Status(StatusCodes.Status403Forbidden, "The API key is not valid", "The admin API key sent is not the configured one.");
        }

        return await next(context);
    }
}

/// <summary>Marks the endpoints that only the admin API key opens; what the tests find every admin endpoint by.</summary>
public sealed class AdminApiKeyRequired
{
    public static readonly AdminApiKeyRequired Instance = new();

    private AdminApiKeyRequired()
    {
    }
}

public static class AdminEndpoints
{
    /// <summary>Guards every endpoint of <paramref name="group"/> with <see cref="AdminApiKeyFilter"/> (and documents its 401 and 403).</summary>
    public static RouteGroupBuilder RequireAdminApiKey(this RouteGroupBuilder group) =>
        group.AddEndpointFilter<AdminApiKeyFilter>()
            .WithMetadata(AdminApiKeyRequired.Instance)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden);
}
