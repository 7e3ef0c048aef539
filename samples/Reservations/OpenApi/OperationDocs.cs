using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Reservations.OpenApi;

/// <summary>What an endpoint documents about itself beyond its types: the headers it reads and writes, its parameters' rules, examples.</summary>
public static class OperationDocs
{
    /// <summary>The ids the examples use.</summary>
    public static class Examples
    {
        public static readonly Guid Reservation = Guid.Parse("0199a3f2-5c1e-7b6a-9d4e-2f8c1a7b3e5d");
        public static readonly Guid Guest = Guid.Parse("d893d0e1-1c7b-407a-9cc8-101badb1792c");
        public static readonly DateOnly Day = new(2030, 6, 1);
    }

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

    /// <summary>Documents the path parameter <c>day</c>: a date as <c>YYYY-MM-DD</c>, read exactly so.</summary>
    public static RouteHandlerBuilder WithDayParameter(this RouteHandlerBuilder builder) =>
        builder.WithParameter("day", schema =>
        {
            schema.Format = "date";
            schema.Pattern = Days.PatternText;
        }, "The day, as YYYY-MM-DD.");

    /// <summary>Completes the schema and description of the operation's parameter <paramref name="name"/>.</summary>
    public static RouteHandlerBuilder WithParameter(this RouteHandlerBuilder builder, string name, Action<OpenApiSchema> schema, string description) =>
        builder.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            var parameter = operation.Parameters?.OfType<OpenApiParameter>().SingleOrDefault(p => p.Name == name)
                ?? throw new InvalidOperationException($"{operation.OperationId} has no parameter {name} to document.");
            parameter.Description = description;
            schema((OpenApiSchema)parameter.Schema!);
            return Task.CompletedTask;
        });

    /// <summary>Gives the JSON request body an example, serialized as the API reads it.</summary>
    public static RouteHandlerBuilder WithRequestExample(this RouteHandlerBuilder builder, object example) =>
        builder.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            var content = JsonContent(operation.RequestBody?.Content)
                ?? throw new InvalidOperationException($"{operation.OperationId} has no JSON body to give an example.");
            content.Example = Json(example);
            return Task.CompletedTask;
        });

    /// <summary>Gives the JSON response with status <paramref name="status"/> an example, serialized as the API writes it.</summary>
    public static RouteHandlerBuilder WithResponseExample(this RouteHandlerBuilder builder, int status, object example) =>
        builder.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            var content = JsonContent((operation.Responses?.GetValueOrDefault(status.ToString(System.Globalization.CultureInfo.InvariantCulture)) as OpenApiResponse)?.Content)
                ?? throw new InvalidOperationException($"{operation.OperationId} has no JSON {status} response to give an example.");
            content.Example = Json(example);
            return Task.CompletedTask;
        });

    private static OpenApiMediaType? JsonContent(IDictionary<string, OpenApiMediaType>? content) =>
        content is not null && content.TryGetValue("application/json", out var media) ? media : null;

    private static System.Text.Json.Nodes.JsonNode? Json(object example) =>
        System.Text.Json.JsonSerializer.SerializeToNode(example, example.GetType(), System.Text.Json.JsonSerializerOptions.Web);

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
