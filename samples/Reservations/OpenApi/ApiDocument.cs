using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Reservations.Administration;

namespace Reservations.OpenApi;

/// <summary>
/// The API's one OpenAPI document (<c>/openapi/v1.json</c>, committed as <c>samples/Reservations/openapi.json</c>): what it
/// says about the API as a whole (introduction, licence, sections, the admin key), what every operation may answer
/// (<see cref="StandardResponses"/>), and request schemas that carry the validators' rules (<see cref="ValidationRules"/>).
/// </summary>
public static class ApiDocument
{
    public const string Reservations = "Reservations";
    public const string Days = "Days";
    public const string Guests = "Guests";
    public const string Administration = "Administration";
    public const string Health = "Health";

    /// <summary>The name of the admin key's security scheme.</summary>
    public const string AdminKeyScheme = "AdminApiKey";

    public const string Introduction = """
        Restaurant reservations on an event-sourced log. A placement is accepted at once (202, tentative) and confirmed
        or rejected (sold out) shortly after by a reactor; reads come from views that follow the log, so a read may lag
        a write: pass the position a write returned as `?atLeast=` to wait until the view reflects it.

        Writes take an `Idempotency-Key` header (a retry with the same key and body gets the first outcome), and a
        cancellation takes `If-Match` with the version of the reservation's `ETag`. Errors are problem details
        (RFC 9457, `application/problem+json`); a 400 lists every failing field in `errors`, keyed by the JSON field,
        the query parameter, the path parameter or the header. Guests' personal data can be erased (crypto-shredding):
        views and history then show `[erased]`.

        Kestrel itself, before the API sees a request, answers a malformed HTTP request with 400 and headers that are
        too large with 431, both with an empty body.
        """;

    private static readonly (string Name, string Description)[] Sections =
    [
        (Reservations, "Placing, reading and cancelling a reservation, and its history."),
        (Days, "A day's seats and reservations."),
        (Guests, "A guest's reservations, and erasing a guest's personal data."),
        (Health, "Whether the API is up."),
        (Administration, "Operators' endpoints: they need the admin API key (`X-Api-Key`)."),
    ];

    /// <summary>The sections grouped for readers (<c>x-tagGroups</c>, which Scalar and Redoc show as headings): the operators' apart.</summary>
    private static readonly (string Name, string[] Tags)[] SectionGroups =
    [
        ("Booking", [Reservations, Days, Guests]),
        ("Operators", [Health, Administration]),
    ];

    /// <summary>Registers the document <c>v1</c> and everything that completes it.</summary>
    public static IServiceCollection AddReservationsOpenApi(this IServiceCollection services) =>
        services.AddOpenApi(options =>
        {
            options.AddDocumentTransformer((document, _, _) =>
            {
                Describe(document);
                return Task.CompletedTask;
            });
            options.AddOperationTransformer<StandardResponses>();
            options.AddSchemaTransformer<ValidationRules>();
        });

    private static void Describe(OpenApiDocument document)
    {
        document.Info = new OpenApiInfo
        {
            Title = "Reservations API",
            Version = "v1",
            Description = Introduction,
            License = new OpenApiLicense { Name = "MIT", Identifier = "MIT" },
            Contact = new OpenApiContact { Name = "EventSourcing contributors" },
        };
        document.Servers = [new OpenApiServer { Url = "/", Description = "The server that serves this document." }];
        document.Tags = new HashSet<OpenApiTag>(Sections.Select(s => new OpenApiTag { Name = s.Name, Description = s.Description }));
        document.Extensions ??= new Dictionary<string, IOpenApiExtension>();
        document.Extensions["x-tagGroups"] = new JsonNodeExtension(new JsonArray(SectionGroups
            .Select(g => (JsonNode)new JsonObject { ["name"] = g.Name, ["tags"] = new JsonArray(g.Tags.Select(t => (JsonNode)t).ToArray()) })
            .ToArray()));
        document.Security = [new OpenApiSecurityRequirement()]; // anonymous by default; the admin operations need their key
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[AdminKeyScheme] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey,
            In = ParameterLocation.Header,
            Name = AdminApiKeyFilter.Header,
            Description = "The admin API key (setting `Admin:ApiKey`). Missing: 401; wrong, or none configured: 403.",
        };
    }
}
