using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace Reservations;

/// <summary>Problem details (RFC 9457) the endpoints return themselves.</summary>
public static class Problems
{
    /// <summary>The title of every 400: whatever was wrong, <c>errors</c> names each failing field.</summary>
    public const string InvalidTitle = "The request is invalid";

    /// <summary>A 400 naming one failing field (a JSON field, query or path parameter, or header).</summary>
    public static ValidationProblem Invalid(string field, string message) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [message] }, title: InvalidTitle);

    public static ProblemDetails NotFound(string detail) => new() { Status = StatusCodes.Status404NotFound, Title = "Not found", Detail = detail };

    public static IResult Status(int status, string title, string detail) =>
        TypedResults.Problem(detail, statusCode: status, title: title);

    public static IResult BadDay(string day) => Invalid("day", $"'{Truncate(day, 40)}' is not a date as YYYY-MM-DD.");

    public static string Truncate(string value, int length = 200) => value.Length <= length ? value : string.Concat(value.AsSpan(0, length), "…");
}

/// <summary>Days in URLs: exactly <c>YYYY-MM-DD</c>.</summary>
public static class Days
{
    /// <summary>The shape of a day in a URL, for the document.</summary>
    public const string PatternText = @"^[0-9]{4}-[0-9]{2}-[0-9]{2}$";

    public static bool TryParse(string? text, out DateOnly day) =>
        DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out day);
}
