using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.Extensions.Options;

namespace Reservations.Security;

/// <summary>
/// Configuration section <c>Cors</c>: the origins whose browser pages may call the API (<c>Cors:AllowedOrigins</c>,
/// such as <c>https://app.example.com</c>). None by default: no cross-origin access at all.
/// </summary>
public sealed class CrossOriginOptions
{
    public const string Section = "Cors";

    /// <summary>Origins as a browser sends them: scheme, host and port, no path and no trailing slash.</summary>
    public IReadOnlyList<string> AllowedOrigins { get; set; } = [];
}

/// <summary>CORS closed by default; open to the configured origins only, for the API's methods and headers.</summary>
public static class CrossOrigin
{
    private static readonly string[] Methods = ["GET", "POST", "DELETE"];
    private static readonly string[] RequestHeaders = ["Content-Type", "If-Match", Requests.IdempotencyKeyHeader, Administration.AdminApiKeyFilter.Header];
    private static readonly string[] ResponseHeaders = ["ETag", "Location", "Retry-After"];

    public static IServiceCollection AddCrossOrigin(this IServiceCollection services)
    {
        services.AddOptions<CrossOriginOptions>().BindConfiguration(CrossOriginOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<CrossOriginOptions>, OriginsValidator>();
        services.AddOptions<CorsOptions>().Configure<IOptions<CrossOriginOptions>>((cors, allowed) => cors.AddDefaultPolicy(policy => policy
            .WithOrigins([.. allowed.Value.AllowedOrigins])
            .WithMethods(Methods)
            .WithHeaders(RequestHeaders)
            .WithExposedHeaders(ResponseHeaders)
            .SetPreflightMaxAge(TimeSpan.FromMinutes(10))));
        return services.AddCors();
    }

    private sealed class OriginsValidator : IValidateOptions<CrossOriginOptions>
    {
        public ValidateOptionsResult Validate(string? name, CrossOriginOptions options)
        {
            var wrong = options.AllowedOrigins.Where(origin => !IsOrigin(origin)).ToList();
            return wrong.Count == 0
                ? ValidateOptionsResult.Success
                : ValidateOptionsResult.Fail($"Cors:AllowedOrigins: {string.Join(", ", wrong.Select(o => $"'{o}'"))} is not an origin such as https://app.example.com (scheme, host and port only: no path, no trailing slash).");
        }

        private static bool IsOrigin(string origin) =>
            origin == "*"
            || (Uri.TryCreate(origin, UriKind.Absolute, out var uri)
                && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)
                && string.Equals(uri.GetLeftPart(UriPartial.Authority), origin, StringComparison.OrdinalIgnoreCase));
    }
}
