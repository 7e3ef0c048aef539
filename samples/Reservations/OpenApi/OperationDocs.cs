using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Reservations.OpenApi;

/// <summary>What an endpoint documents about itself beyond its types: the headers it reads and writes.</summary>
public static class OperationDocs
{
    /// <summary>Documents the optional <c>Idempotency-Key</c> request header.</summary>
    public static RouteHandlerBuilder WithIdempotencyKey(this RouteHandlerBuilder builder) =>
        builder.WithRequestHeader(new OpenApiParameter
        {
            Name = Requests.IdempotencyKeyHeader,
            In = ParameterLocation.Header,
            Description = "Makes the write safe to retry: a request with the same key and body gets the first one's outcome; the same key with another body is 422. Keys are the client's own (another client's same key is another write).",
            Schema = new OpenApiSchema { Type = JsonSchemaType.String, MinLength = 1, MaxLength = 100, Pattern = Requests.KeyPatternText },
            Example = System.Text.Json.Nodes.JsonValue.Create("9b1c5b0e-placement-1"),
        });

    /// <summary>Documents the optional <c>If-Match</c> request header.</summary>
    public static RouteHandlerBuilder WithIfMatch(this RouteHandlerBuilder builder) =>
        builder.WithRequestHeader(new OpenApiParameter
        {
            Name = "If-Match",
            In = ParameterLocation.Header,
            Description = "The version the client last read (the reservation's `ETag`, such as `\"3\"`; `W/\"3\"`, `3` and `*` are accepted too). When the reservation has changed since: 412.",
            Schema = new OpenApiSchema { Type = JsonSchemaType.String, Pattern = Requests.IfMatchPatternText },
            Example = System.Text.Json.Nodes.JsonValue.Create("\"3\""),
        });

    /// <summary>Documents a header of the response with status <paramref name="status"/> (which the endpoint declares).</summary>
    public static RouteHandlerBuilder WithResponseHeader(this RouteHandlerBuilder builder, int status, string name, string description, JsonSchemaType type = JsonSchemaType.String) =>
        builder.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            if (operation.Responses?.GetValueOrDefault(status.ToString(System.Globalization.CultureInfo.InvariantCulture)) is not OpenApiResponse response)
            {
                throw new InvalidOperationException($"{operation.OperationId} documents a {name} header on {status}, a status it does not declare.");
            }

            AddHeader(response, name, description, type);
            return Task.CompletedTask;
        });

    /// <summary>Adds a header to a response's documentation.</summary>
    public static void AddHeader(OpenApiResponse response, string name, string description, JsonSchemaType type)
    {
        ArgumentNullException.ThrowIfNull(response);
        response.Headers ??= new Dictionary<string, IOpenApiHeader>();
        response.Headers[name] = new OpenApiHeader { Description = description, Schema = new OpenApiSchema { Type = type } };
    }

    private static RouteHandlerBuilder WithRequestHeader(this RouteHandlerBuilder builder, OpenApiParameter header) =>
        builder.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            operation.Parameters ??= [];
            operation.Parameters.Add(header);
            return Task.CompletedTask;
        });
}
