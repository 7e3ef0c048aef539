using Reservations.Security;
using Scalar.AspNetCore;

namespace Reservations.OpenApi;

/// <summary>
/// The API reference page (<c>/scalar/v1</c>, Scalar): the document's introduction, then its operations in sections by
/// tag, in the document's order, with the operators' sections last. The page is self-contained: it loads nothing from
/// another host and shows none of Scalar's hosted services (developer tools, deploy and SDK buttons, the AI agent, MCP),
/// and it reports nothing to Scalar.
/// </summary>
public static class ApiReference
{
    /// <summary>The title of the page.</summary>
    public const string Title = "Reservations API reference";

    /// <summary>Maps the page and its assets under <c>/scalar</c>, with the page's own security headers.</summary>
    public static IEndpointConventionBuilder MapReservationsApiReference(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapScalarApiReference(page => page
                .WithTitle(Title)
                .DisableDefaultFonts() // Inter and JetBrains Mono come from Scalar's CDN; the browser's fonts instead
                .HideDeveloperTools() // the toolbar of Configure, Share, Generate SDK and Deploy, all Scalar's services
                .DisableAgent() // "Ask AI", Scalar's hosted chat
                .DisableMcp()
                .DisableTelemetry()
                .HideClientButton())
            .WithSecurityHeadersPolicy(SecurityHeaders.ApiReferencePolicy);
}
