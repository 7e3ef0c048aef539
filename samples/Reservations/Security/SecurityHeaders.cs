namespace Reservations.Security;

/// <summary>
/// The security headers of every response (NetEscapades.AspNetCore.SecurityHeaders): <c>nosniff</c>, <c>DENY</c>
/// framing, no referrer, no <c>Server</c> header, HSTS on HTTPS outside Development. API responses get a CSP that
/// allows nothing and <c>Cache-Control: no-store</c> (they carry personal data, errors or live state); the API reference
/// page (<c>/scalar</c>) gets a CSP that lets it run its own scripts and styles, and nothing from elsewhere.
/// </summary>
public static class SecurityHeaders
{
    /// <summary>The policy of the API reference page and its assets.</summary>
    public const string ApiReferencePolicy = "api-reference";

    public static IServiceCollection AddSecurityHeaders(this IServiceCollection services, IHostEnvironment environment) =>
        services.AddSecurityHeaderPolicies(policies => policies
            .SetDefaultPolicy(api => Common(api, environment)
                .AddContentSecurityPolicy(csp =>
                {
                    csp.AddDefaultSrc().None();
                    csp.AddFrameAncestors().None();
                })
                .AddCustomHeader("Cache-Control", "no-store"))
            .AddPolicy(ApiReferencePolicy, page => Common(page, environment)
                .AddContentSecurityPolicy(csp =>
                {
                    csp.AddDefaultSrc().None();
                    csp.AddScriptSrc().Self().UnsafeInline(); // Scalar's page starts itself with an inline module script
                    csp.AddStyleSrc().Self().UnsafeInline(); // and injects its styles at run time
                    csp.AddImgSrc().Self().Data();
                    csp.AddFontSrc().Self().Data();
                    csp.AddConnectSrc().Self(); // the OpenAPI document and "try it" requests, to this API only
                    csp.AddBaseUri().None();
                    csp.AddFormAction().None();
                    csp.AddFrameAncestors().None();
                })));

    private static HeaderPolicyCollection Common(HeaderPolicyCollection policies, IHostEnvironment environment)
    {
        policies.AddContentTypeOptionsNoSniff()
            .AddFrameOptionsDeny()
            .AddReferrerPolicyNoReferrer()
            .RemoveServerHeader();
        if (!environment.IsDevelopment())
        {
            policies.AddStrictTransportSecurityMaxAge(); // a year; HTTPS responses only, never for localhost
        }

        return policies;
    }
}
