using System.Text.Json;
using EventSourcing.Commands;
using EventSourcing.Deciders;
using EventSourcing.Privacy;
using EventSourcing.Storage;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Reservations.Domain;

namespace Reservations;

/// <summary>
/// The one mapping from exceptions to problem details: validation 400 (with every failing field: the command's rules,
/// and what the framework could not read, by <see cref="BadRequests"/>), unknown id 404,
/// broken rule or conflict 409, If-Match mismatch 412, idempotency key reused 422, store unavailable 503 (with
/// Retry-After), anything else 500 without stack trace or personal data.
/// </summary>
public sealed partial class ProblemDetailsExceptionHandler(IProblemDetailsService problems, ILogger<ProblemDetailsExceptionHandler> logger) : IExceptionHandler
{
    /// <summary>What a 503 says in Retry-After: a store outage is usually over within seconds, or lasts much longer.</summary>
    private const string RetryAfterSeconds = "2";

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        var problem = exception switch
        {
            CommandValidationException invalid => Invalid(invalid.Errors.ToDictionary(e => JsonNamingPolicy.CamelCase.ConvertName(e.Key), e => e.Value)),
            BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } bad => Problem(bad.StatusCode, "The request body is too large", Safe(bad)),
            BadHttpRequestException { StatusCode: StatusCodes.Status415UnsupportedMediaType } bad => Problem(bad.StatusCode, "Unsupported media type", Safe(bad)),
            BadHttpRequestException or InvalidHeaderException or JsonException => Invalid(BadRequests.Errors(httpContext, exception)),
            ReservationNotFoundException notFound => Problem(StatusCodes.Status404NotFound, "Not found", notFound.Message),
            UnexpectedStreamVersionException stale => Problem(StatusCodes.Status412PreconditionFailed, "The reservation has changed", $"If-Match was {stale.Expected} but the reservation is at version {stale.ActualVersion}."),
            IdempotencyKeyReusedException => Problem(StatusCodes.Status422UnprocessableEntity, "Idempotency key reused", "This Idempotency-Key was already used with a different request."),
            SubjectForgottenException => Problem(StatusCodes.Status409Conflict, "Guest forgotten", "This guest's personal data was erased; new personal data of theirs is not accepted."),
            DomainException domain => Problem(StatusCodes.Status409Conflict, "The request conflicts with the reservation's state", domain.Message),
            ConcurrencyException => Problem(StatusCodes.Status409Conflict, "Concurrent change", "The reservation changed while the request was handled; try again."),
            EventStoreUnavailableException => Unavailable("The event store cannot be reached; try again shortly."),
            _ => null,
        };

        if (problem is null)
        {
            LogUnexpected(logger, exception.GetType().Name, httpContext.Request.Method, httpContext.Request.Path);
            problem = Problem(StatusCodes.Status500InternalServerError, "An unexpected error occurred", null);
        }

        if (problem.Status == StatusCodes.Status503ServiceUnavailable)
        {
            httpContext.Response.Headers.RetryAfter = RetryAfterSeconds;
        }

        httpContext.Response.StatusCode = problem.Status!.Value;
        if (!await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = httpContext, ProblemDetails = problem, Exception = exception }))
        {
            await WriteAsync(httpContext, problem); // the client's Accept ruled JSON out: errors are problem details all the same
        }

        return true;
    }

    /// <summary>Answers 503 with Retry-After: the store is unreachable or too slow, and a retry shortly may succeed.</summary>
    public static Task WriteUnavailableAsync(HttpContext httpContext, string detail)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        httpContext.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        httpContext.Response.Headers.RetryAfter = RetryAfterSeconds;
        return WriteAsync(httpContext, Unavailable(detail));
    }

    /// <summary>Writes <paramref name="problem"/> as <c>application/problem+json</c>, whatever the request accepts.</summary>
    public static Task WriteAsync(HttpContext httpContext, ProblemDetails problem)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        ArgumentNullException.ThrowIfNull(problem);
        problem.Extensions["traceId"] = System.Diagnostics.Activity.Current?.Id ?? httpContext.TraceIdentifier;
        return httpContext.Response.WriteAsJsonAsync(problem, problem.GetType(), options: null, contentType: "application/problem+json");
    }

    private static ValidationProblemDetails Invalid(Dictionary<string, string[]> errors) =>
        new(errors) { Status = StatusCodes.Status400BadRequest, Title = Problems.InvalidTitle };

    private static ProblemDetails Problem(int status, string title, string? detail) => new() { Status = status, Title = title, Detail = detail };

    private static ProblemDetails Unavailable(string detail) => Problem(StatusCodes.Status503ServiceUnavailable, "Temporarily unavailable", detail);

    /// <summary>The framework's own messages name parameters and types, never values; ours are written to be shown.</summary>
    private static string Safe(BadHttpRequestException bad) => Problems.Truncate(bad.Message.ReplaceLineEndings(" "));

    [LoggerMessage(Level = LogLevel.Error, Message = "Unexpected {ExceptionType} handling {Method} {Path}")]
    private static partial void LogUnexpected(ILogger logger, string exceptionType, string method, PathString path);
}
