using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Metadata;

namespace Reservations;

/// <summary>A request header with a value the API cannot use (400, naming the header in <c>errors</c>).</summary>
public sealed class InvalidHeaderException(string header, string message) : Exception(message)
{
    public string Header { get; } = header;
}

/// <summary>
/// Turns what the framework refuses before an endpoint runs (a body that is not JSON or holds a value of the wrong type,
/// a path or query value that does not parse, a missing body) into the <c>errors</c> of a 400, keyed by the JSON field or
/// the parameter's name, with messages that name JSON types, never C# ones.
/// </summary>
public static partial class BadRequests
{
    /// <summary>The failing fields of <paramref name="exception"/>, as <c>errors</c> of a validation problem.</summary>
    public static Dictionary<string, string[]> Errors(HttpContext context, Exception exception)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(exception);
        if (exception is InvalidHeaderException header)
        {
            return One(header.Header, header.Message);
        }

        if ((exception as JsonException ?? exception.InnerException as JsonException) is { } json)
        {
            return Json(context, json);
        }

        var message = exception.Message;
        if (BindingFailed().Match(message) is { Success: true } binding)
        {
            var name = binding.Groups["name"].Value;
            var type = Endpoint(context)?.Metadata.GetOrderedMetadata<IParameterBindingMetadata>().FirstOrDefault(p => p.Name == name)?.ParameterInfo.ParameterType;
            return One(name, $"'{Problems.Truncate(binding.Groups["value"].Value, 40)}' is not {Expected(type is null ? binding.Groups["type"].Value : (Nullable.GetUnderlyingType(type) ?? type).Name)}.");
        }

        if (NoBody().IsMatch(message))
        {
            return One("body", "A JSON body is required.");
        }

        if (Missing().Match(message) is { Success: true } missing)
        {
            return missing.Groups["source"].Value == "body"
                ? One("body", "A JSON body is required.")
                : One(missing.Groups["name"].Value, $"{missing.Groups["name"].Value} is required.");
        }

        return One("request", Problems.Truncate(message.ReplaceLineEndings(" ")));
    }

    private static Dictionary<string, string[]> Json(HttpContext context, JsonException json)
    {
        var path = json.Path;
        if (string.IsNullOrEmpty(path) || path == "$" || json.InnerException is not null and not InvalidOperationException and not FormatException)
        {
            return One(path is null or "$" ? "body" : Field(path), "The body is not valid JSON.");
        }

        var field = Field(path);
        var type = PropertyType(Endpoint(context)?.Metadata.GetMetadata<IAcceptsMetadata>()?.RequestType, field);
        return One(field, type is null ? "The value is not of the type the schema gives." : $"The value is not {Expected(type)}.");
    }

    /// <summary>The endpoint that refused the request: the exception handler runs without it, and the feature keeps it.</summary>
    private static Endpoint? Endpoint(HttpContext context) => context.Features.Get<IExceptionHandlerFeature>()?.Endpoint ?? context.GetEndpoint();

    /// <summary><c>$.guest.name</c> as <c>guest.name</c>; <c>$['a b']</c> as <c>a b</c>.</summary>
    private static string Field(string path) =>
        path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$').Trim('[', ']', '\'');

    private static string? PropertyType(Type? body, string field)
    {
        var property = body?.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .FirstOrDefault(p => string.Equals(JsonNamingPolicy.CamelCase.ConvertName(p.Name), field, StringComparison.Ordinal));
        return property is null ? null : (Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType).Name;
    }

    private static string Expected(string type) => type.TrimEnd('?') switch
    {
        "Guid" => "a UUID",
        "Int32" or "Int64" or "int" or "long" => "an integer",
        "DateOnly" => "a date as YYYY-MM-DD",
        "DateTimeOffset" or "DateTime" => "a date and time (RFC 3339)",
        "Boolean" or "bool" => "true or false",
        "String" or "string" => "a string",
        _ => "of the type the schema gives",
    };

    private static Dictionary<string, string[]> One(string field, string message) => new(StringComparer.Ordinal) { [field] = [message] };

    // ASP.NET Core's own messages for parameters it cannot bind (RequestDelegateFactory): the only place that names them.
    [GeneratedRegex("""^Failed to bind parameter "(?<type>[^" ]+) (?<name>[^"]+)" from "(?<value>.*)"\.$""", RegexOptions.Singleline)]
    private static partial Regex BindingFailed();

    [GeneratedRegex("""^Implicit body inferred for parameter "[^"]+" but no body was provided""")]
    private static partial Regex NoBody();

    [GeneratedRegex("""^Required parameter "(?<type>[^" ]+) (?<name>[^"]+)" was not provided from (?<source>[a-z ]+)\.$""")]
    private static partial Regex Missing();
}
