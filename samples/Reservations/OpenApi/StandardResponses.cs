using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.OpenApi;
using Reservations.Administration;

namespace Reservations.OpenApi;

/// <summary>
/// What any operation may answer besides its own results, added to each so that the document lists every status the
/// API can give: 400 when it takes input, 413 and 415 always (a body too large, or not JSON in UTF-8: an operation that
/// takes no body still refuses a large one, or one in an unknown charset), 429 when it is rate-limited, 500 and 503
/// always (with <c>Retry-After</c> where the API sends it), and 431 (Kestrel's, no body).
/// Every error is problem details; a 400 is validation problem details. The admin operations get the key's scheme.
/// </summary>
internal sealed class StandardResponses : IOpenApiOperationTransformer
{
    public async Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var description = context.Description;
        var metadata = description.ActionDescriptor.EndpointMetadata;
        operation.Responses ??= [];
        var takesBody = description.ParameterDescriptions.Any(p => p.Source == Microsoft.AspNetCore.Mvc.ModelBinding.BindingSource.Body)
            || metadata.OfType<IAcceptsMetadata>().Any();
        var takesInput = takesBody || description.ParameterDescriptions.Any(p => p.Source != Microsoft.AspNetCore.Mvc.ModelBinding.BindingSource.Services)
            || operation.Parameters is { Count: > 0 };

        var problem = await ProblemAsync(context, typeof(ProblemDetails), "ProblemDetails", cancellationToken);
        if (takesInput)
        {
            Add(operation, StatusCodes.Status400BadRequest, "The request is invalid: `errors` names each failing field.", await ProblemAsync(context, typeof(HttpValidationProblemDetails), "HttpValidationProblemDetails", cancellationToken));
        }

        if (takesBody)
        {
            Add(operation, StatusCodes.Status413PayloadTooLarge, $"The body is larger than {RequestBodyLimit.MaxBytes / 1024} KiB.", problem);
            Add(operation, StatusCodes.Status415UnsupportedMediaType, "The body is not JSON in UTF-8.", problem);
        }
        else
        {
            // RequestBodyLimit checks the body of every request: one this operation would not read is refused all the same.
            Add(operation, StatusCodes.Status413PayloadTooLarge, $"The request has a body (this operation takes none) larger than {RequestBodyLimit.MaxBytes / 1024} KiB.", problem);
            Add(operation, StatusCodes.Status415UnsupportedMediaType, "The request has a body (this operation takes none) whose Content-Type names a charset the API does not know.", problem);
        }

        if (metadata.OfType<EnableRateLimitingAttribute>().Any())
        {
            Add(operation, StatusCodes.Status429TooManyRequests, "The client sent more writes than its limit allows.", problem, RetryAfter("Seconds until the client may write again."));
        }

        if (metadata.OfType<AdminApiKeyRequired>().Any())
        {
            Add(operation, StatusCodes.Status401Unauthorized, "No API key was sent.", problem, ("WWW-Authenticate", "How to authenticate: the API key header."));
            Add(operation, StatusCodes.Status403Forbidden, "The API key is wrong, or none is configured.", problem);
            operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(ApiDocument.AdminKeyScheme, context.Document)] = [] }];
        }

        Add(operation, StatusCodes.Status431RequestHeaderFieldsTooLarge, "Kestrel's own answer to headers that are too large; no body.", null);
        Add(operation, StatusCodes.Status500InternalServerError, "An unexpected error; the body holds no detail of it.", problem);
        Add(operation, StatusCodes.Status503ServiceUnavailable, "The event store cannot be reached, or did not answer in time.", problem, RetryAfter("Seconds after which a retry may succeed."));
    }

    /// <summary>The <c>Retry-After</c> header, in seconds.</summary>
    public static (string Name, string Description) RetryAfter(string description) => ("Retry-After", description);

    private static async Task<IOpenApiSchema> ProblemAsync(OpenApiOperationTransformerContext context, Type type, string name, CancellationToken cancellationToken)
    {
        var document = context.Document!;
        if (document.Components?.Schemas?.ContainsKey(name) is not true)
        {
            document.AddComponent(name, await context.GetOrCreateSchemaAsync(type, null, cancellationToken));
        }

        return new OpenApiSchemaReference(name, document);
    }

    /// <summary>Adds the response unless the operation lists the status already; then only completes it (description, problem content, headers).</summary>
    private static void Add(OpenApiOperation operation, int status, string description, IOpenApiSchema? problem, params (string Name, string Description)[] headers)
    {
        var key = status.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (!operation.Responses!.TryGetValue(key, out var existing) || existing is not OpenApiResponse response)
        {
            response = new OpenApiResponse();
            operation.Responses[key] = response;
        }

        if (string.IsNullOrEmpty(response.Description) || response.Description == ReasonPhrase(status))
        {
            response.Description = description;
        }

        if (problem is not null)
        {
            response.Content = new Dictionary<string, OpenApiMediaType> { ["application/problem+json"] = new() { Schema = problem } };
        }

        foreach (var (name, text) in headers)
        {
            OperationDocs.AddHeader(response, name, text, JsonSchemaType.String);
        }
    }

    private static string ReasonPhrase(int status) => Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status);
}
