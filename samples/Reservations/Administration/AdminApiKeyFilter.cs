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

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next) =>
        Refusal(context.HttpContext, configuration) ?? await next(context);

    /// <summary>
    /// The same check for an endpoint that is no route handler (<c>/metrics</c>): middleware of its branch, answering the
    /// refusal itself or passing the request on.
    /// </summary>
    public static async Task GuardAsync(HttpContext context, RequestDelegate next)
    {
        if (Refusal(context, context.RequestServices.GetRequiredService<IConfiguration>()) is { } refusal)
        {
            await refusal.ExecuteAsync(context);
            return;
        }

        await next(context);
    }

    /// <summary>The problem a request without the configured key gets (401 or 403); null when the key is right.</summary>
    private static IResult? Refusal(HttpContext context, IConfiguration configuration)
    {
        var configured = configuration["Admin:ApiKey"];
        if (!context.Request.Headers.TryGetValue(Header, out var sent) || string.IsNullOrEmpty(sent))
        {
            context.Response.Headers.WWWAuthenticate = Challenge; // a 401 says how to authenticate (RFC 9110)
            return Problems.Status(StatusCodes.Status401Unauthorized, "An API key is required", $"Send the admin API key in the {Header} header.");
        }

        if (string.IsNullOrEmpty(configured))
        {
            return Problems.Status(StatusCodes.Status403Forbidden, "Admin endpoints are disabled", "No admin API key is configured (Admin:ApiKey).");
        }

        var expected = SHA256.HashData(Encoding.UTF8.GetBytes(configured));
        var actual = SHA256.HashData(Encoding.UTF8.GetBytes(sent.ToString()));
        return CryptographicOperations.FixedTimeEquals(expected, actual)
            ? null
            : Problems.Status(StatusCodes.Status403Forbidden, "The API key is not valid", "The admin API key sent is not the configured one.");
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
