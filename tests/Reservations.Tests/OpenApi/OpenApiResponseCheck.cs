using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;

namespace Reservations.Tests.OpenApi;

/// <summary>
/// Checks every response that passes through it against the committed OpenAPI document
/// (<c>samples/Reservations/openapi.json</c>): the status is one the operation lists, a body's media type is one the
/// response documents, the contract headers it carries are documented, and a JSON body matches the response's schema.
/// A response that does not match throws an <see cref="OpenApiContractException"/> at the call that received it.
/// Requests the document does not describe (another path, or a method the path does not have) pass unchecked.
/// </summary>
internal sealed class OpenApiResponseCheck(ApiContract contract) : DelegatingHandler
{
    public OpenApiResponseCheck()
        : this(ApiContract.Committed)
    {
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        var mismatches = await contract.CheckAsync(request, response, cancellationToken);
        if (mismatches is not [])
        {
            response.Dispose();
            throw new OpenApiContractException(request, response.StatusCode, mismatches);
        }

        return response;
    }
}

/// <summary>A response the API gave that its OpenAPI document does not describe.</summary>
internal sealed class OpenApiContractException(HttpRequestMessage request, System.Net.HttpStatusCode status, IReadOnlyList<string> mismatches)
    : Exception(Describe(request, status, mismatches))
{
    public IReadOnlyList<string> Mismatches { get; } = mismatches;

    private static string Describe(HttpRequestMessage request, System.Net.HttpStatusCode status, IReadOnlyList<string> mismatches) =>
        $"{request.Method} {request.RequestUri?.AbsolutePath} answered {(int)status} {status}, which the OpenAPI document does not describe:"
        + string.Concat(mismatches.Select(m => $"\n  - {m}"));
}

/// <summary>The operations of an OpenAPI 3.1 document, and what it says each response is.</summary>
internal sealed class ApiContract
{
    /// <summary>The headers of the API's contract whose presence on a response the document must tell.</summary>
    public static readonly string[] ContractHeaders = ["ETag", "Location", "Retry-After", "WWW-Authenticate", "X-View-Up-To-Date"];

    private static readonly Lazy<ApiContract> CommittedContract =
        new(() => new ApiContract(File.ReadAllText(Path.Combine(Repository.Root, "samples", "Reservations", "openapi.json"))));

    private static readonly string[] Methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

    private readonly JsonElement _document;
    private readonly Uri _documentUri = new($"https://reservations.test/openapi-{Guid.NewGuid():N}.json");
    private readonly List<Operation> _operations = [];
    private readonly Dictionary<string, JsonSchema> _schemas = [];

    public ApiContract(string document)
    {
        _document = JsonDocument.Parse(document).RootElement.Clone();
        var options = new BuildOptions { SchemaRegistry = new SchemaRegistry() };
        options.SchemaRegistry.Register(_documentUri, new JsonElementBaseDocument(_document, _documentUri));

        foreach (var path in _document.GetProperty("paths").EnumerateObject())
        {
            foreach (var method in path.Value.EnumerateObject().Where(m => Methods.Contains(m.Name)))
            {
                var operation = new Operation(method.Name.ToUpperInvariant(), path.Name, method.Value);
                _operations.Add(operation);
                foreach (var response in method.Value.GetProperty("responses").EnumerateObject())
                {
                    if (Resolve(response.Value).TryGetProperty("content", out var content))
                    {
                        foreach (var media in content.EnumerateObject().Where(m => m.Value.TryGetProperty("schema", out _)))
                        {
                            var schema = AnchoredToDocument(JsonNode.Parse(media.Value.GetProperty("schema").GetRawText())!);
                            _schemas[SchemaKey(operation, response.Name, media.Name)] = JsonSchema.Build(JsonSerializer.SerializeToElement(schema), options);
                        }
                    }
                }
            }
        }
    }

    /// <summary>The committed document of the sample, read once per test process.</summary>
    public static ApiContract Committed => CommittedContract.Value;

    /// <summary>
    /// What in <paramref name="response"/> to <paramref name="request"/> the document does not describe; none when it
    /// describes all of it, or does not describe the request at all.
    /// </summary>
    public async Task<IReadOnlyList<string>> CheckAsync(HttpRequestMessage request, HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (request.RequestUri is not { IsAbsoluteUri: true } uri || Find(request.Method.Method, uri.AbsolutePath) is not { } operation)
        {
            return [];
        }

        var status = ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (FindResponse(operation, status) is not { } documented)
        {
            var listed = string.Join(", ", operation.Definition.GetProperty("responses").EnumerateObject().Select(r => r.Name));
            return [$"status {status} is not among the responses of {operation}: {listed}"];
        }

        var (responseKey, definition) = documented;
        var mismatches = new List<string>();
        CheckHeaders(response, definition, responseKey, mismatches);
        await CheckBodyAsync(operation, response, responseKey, definition, mismatches, cancellationToken);
        return mismatches;
    }

    /// <summary>The operation the app routes the request to: literal segments match whatever their case, and a trailing slash is ignored.</summary>
    private Operation? Find(string method, string path)
    {
        var segments = (path.Length > 1 && path.EndsWith('/') ? path[..^1] : path).Split('/');
        return _operations
            .Where(o => o.Method == method && o.Matches(segments))
            .OrderByDescending(o => o.LiteralSegments)
            .FirstOrDefault();
    }

    private (string Key, JsonElement Definition)? FindResponse(Operation operation, string status)
    {
        var responses = operation.Definition.GetProperty("responses");
        foreach (var key in new[] { status, $"{status[0]}XX", "default" })
        {
            if (responses.EnumerateObject().FirstOrDefault(r => string.Equals(r.Name, key, StringComparison.OrdinalIgnoreCase)) is { Value.ValueKind: JsonValueKind.Object } found)
            {
                return (found.Name, Resolve(found.Value));
            }
        }

        return null;
    }

    private static void CheckHeaders(HttpResponseMessage response, JsonElement definition, string responseKey, List<string> mismatches)
    {
        var documented = definition.TryGetProperty("headers", out var headers)
            ? headers.EnumerateObject().Select(h => h.Name).ToHashSet(StringComparer.OrdinalIgnoreCase)
            : [];
        foreach (var header in ContractHeaders)
        {
            if ((response.Headers.NonValidated.TryGetValues(header, out var values) || response.Content.Headers.NonValidated.TryGetValues(header, out values))
                && !documented.Contains(header))
            {
                mismatches.Add($"header {header} ({string.Join(", ", values)}) is not documented on response {responseKey}");
            }
        }
    }

    private async Task CheckBodyAsync(Operation operation, HttpResponseMessage response, string responseKey, JsonElement definition, List<string> mismatches, CancellationToken cancellationToken)
    {
        await response.Content.LoadIntoBufferAsync(cancellationToken);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        if (body.Length == 0)
        {
            return;
        }

        var mediaType = response.Content.Headers.ContentType?.MediaType;
        var content = definition.TryGetProperty("content", out var found) ? found.EnumerateObject().Select(m => m.Name).ToList() : [];
        if (mediaType is null)
        {
            mismatches.Add($"the body ({body.Length} bytes) has no Content-Type; response {responseKey} documents {Listed(content)}");
            return;
        }

        if (content.FirstOrDefault(m => string.Equals(m, mediaType, StringComparison.OrdinalIgnoreCase)) is not { } documentedType)
        {
            mismatches.Add($"the body's media type {mediaType} is not documented on response {responseKey}, which documents {Listed(content)}");
            return;
        }

        if (!_schemas.TryGetValue(SchemaKey(operation, responseKey, documentedType), out var schema))
        {
            return;
        }

        JsonDocument json;
        try
        {
            json = JsonDocument.Parse(body);
        }
        catch (JsonException e)
        {
            mismatches.Add($"the {mediaType} body is not JSON ({e.Message}): {Excerpt(body)}");
            return;
        }

        using (json)
        {
            var results = schema.Evaluate(json.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
            if (!results.IsValid)
            {
                var errors = Errors(results).Distinct().ToList();
                mismatches.Add($"the {mediaType} body does not match the schema of response {responseKey}:"
                    + string.Concat(errors.Select(e => $"\n      {e}"))
                    + $"\n    body: {Excerpt(body)}");
            }
        }
    }

    private static IEnumerable<string> Errors(EvaluationResults results)
    {
        if (results.Errors is { } errors)
        {
            foreach (var (keyword, message) in errors)
            {
                yield return $"at '{results.InstanceLocation}' ({keyword} of {results.EvaluationPath}): {message}";
            }
        }

        foreach (var error in (results.Details ?? []).SelectMany(Errors))
        {
            yield return error;
        }
    }

    private JsonElement Resolve(JsonElement element)
    {
        while (element.ValueKind == JsonValueKind.Object && element.TryGetProperty("$ref", out var reference) && reference.GetString() is ['#', '/', ..] pointer)
        {
            element = pointer[2..].Split('/')
                .Select(token => token.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal))
                .Aggregate(_document, (node, token) => node.GetProperty(token));
        }

        return element;
    }

    /// <summary>The schema with its references into this document (<c>#/components/...</c>) made absolute.</summary>
    private JsonNode AnchoredToDocument(JsonNode schema)
    {
        switch (schema)
        {
            case JsonObject properties:
                foreach (var (name, value) in properties.ToList())
                {
                    if (name == "$ref" && value?.GetValue<string>() is ['#', ..] reference)
                    {
                        properties[name] = $"{_documentUri}{reference}";
                    }
                    else if (value is not null)
                    {
                        AnchoredToDocument(value);
                    }
                }

                break;
            case JsonArray items:
                foreach (var item in items.OfType<JsonNode>())
                {
                    AnchoredToDocument(item);
                }

                break;
        }

        return schema;
    }

    private static string SchemaKey(Operation operation, string response, string mediaType) => $"{operation} {response} {mediaType.ToLowerInvariant()}";

    private static string Listed(List<string> mediaTypes) => mediaTypes.Count == 0 ? "no content" : string.Join(", ", mediaTypes);

    private static string Excerpt(byte[] body)
    {
        var text = Encoding.UTF8.GetString(body);
        return text.Length <= 600 ? text : $"{text[..600]}...";
    }

    /// <summary>One operation of the document: its method, its path template and its definition.</summary>
    private sealed record Operation(string Method, string Path, JsonElement Definition)
    {
        private readonly string[] _segments = Path.Split('/');

        public int LiteralSegments => _segments.Count(s => !IsTemplate(s));

        /// <summary>Whether the request path's <paramref name="segments"/> fit the template, segment by segment.</summary>
        public bool Matches(string[] segments) =>
            segments.Length == _segments.Length
            && segments.Zip(_segments).All(pair => IsTemplate(pair.Second)
                ? pair.First.Length > 0
                : string.Equals(Uri.UnescapeDataString(pair.First), pair.Second, StringComparison.OrdinalIgnoreCase));

        public override string ToString() => $"{Method} {Path}";

        private static bool IsTemplate(string segment) => segment is ['{', .., '}'];
    }
}
