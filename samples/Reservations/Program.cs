using EventSourcing.Cli;
using System.Text.Json.Serialization;
using EventSourcing.Storage;
using Microsoft.AspNetCore.WebUtilities;
using Reservations;
using Reservations.Administration;
using Reservations.CancellingReservation;
using Reservations.ForgettingGuest;
using Reservations.GettingAvailability;
using Reservations.GettingHistory;
using Reservations.GettingReservation;
using Reservations.ListingReservations;
using Reservations.OpenApi;
using Reservations.PlacingReservation;
using Reservations.Security;

var followersCommand = FollowersCommand.Handles(args); // `followers ...`, or `projections ...` as before
var builder = WebApplication.CreateBuilder(followersCommand ? [] : args);
if (followersCommand)
{
    builder.UseFollowersCommandLogging(); // log lines to standard error, warnings and errors only: standard output is the verb's
}

builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.Limits.MaxRequestBodySize = RequestBodyLimit.MaxBytes;
    kestrel.AddServerHeader = false;
});
builder.Services.AddReservations(builder.Configuration);
builder.Services.AddSecurityHeaders(builder.Environment);
builder.Services.AddCrossOrigin();
builder.Services.AddWriteRateLimit();
builder.Services.AddProblemDetails();
builder.Services.AddExceptionHandler<ProblemDetailsExceptionHandler>();
builder.Services.AddRequestDeadline();
builder.Services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
builder.Services.ConfigureHttpJsonOptions(json => json.SerializerOptions.NumberHandling = JsonNumberHandling.Strict); // numbers are JSON numbers, in bodies and in the document
builder.Services.AddReservationsOpenApi();
builder.Services.AddReservationsTelemetry(builder.Configuration); // traces and metrics; OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set
builder.Services.AddReservationsHealthChecks(); // /health/live and /health/ready

var app = builder.Build();
if (await app.Services.RunFollowersCommandAsync(args) is { } exitCode)
{
    await app.DisposeAsync(); // writes out the log lines still queued
    return exitCode; // dotnet run --project samples/Reservations -- followers list | status | rebuild | verify | replay
}

app.UseSecurityHeaders(); // first, so that every response has them: errors, 404s and 429s too
app.UseExceptionHandler();
app.UseStatusCodePages(context => ProblemDetailsExceptionHandler.WriteAsync(context.HttpContext, new Microsoft.AspNetCore.Mvc.ProblemDetails
{
    Status = context.HttpContext.Response.StatusCode,
    Title = ReasonPhrases.GetReasonPhrase(context.HttpContext.Response.StatusCode),
}));
app.UseCors();
app.UseRateLimiter();
app.UseMiddleware<RequestBodyLimit>();
app.UseRequestTimeouts();

app.MapOpenApi("/openapi/v1.json"); // the one document: other names are 404 problems, not the generator's text/plain echo of the name
app.MapReservationsApiReference(); // /scalar/v1, self-contained: nothing from another host, none of Scalar's hosted services
app.MapGet("/health", async (IEventStore store, CancellationToken cancellationToken) =>
        TypedResults.Ok(new HealthStatus("healthy", await store.ReadHeadPositionAsync(cancellationToken))))
    .WithName("GetHealth")
    .WithTags(ApiDocument.Health)
    .WithSummary("Check health")
    .WithDescription("\"healthy\" and the log's head position when the event store answers; 503 when it does not.");
app.MapHealthEndpoints(); // /health/live, /health/ready: probes, not in the document
app.MapMetrics(); // /metrics for Prometheus, behind the admin API key: not in the document

app.MapGroup(string.Empty)
    .MapPlaceReservation()
    .MapGetReservation()
    .MapCancelReservation()
    .MapGetAvailability()
    .MapListReservations()
    .MapGetHistory();

app.MapGroup(string.Empty)
    .RequireAdminApiKey()
    .MapForgetGuest()
    .MapProjectionsStatus();

app.Lifetime.ApplicationStarted.Register(() => StartupLog.Report(app.Logger, app.Configuration, app.Services)); // once the settings are validated

await app.RunAsync();
return 0;

/// <summary>The sample's entry point, visible to <c>WebApplicationFactory</c> in the tests.</summary>
public partial class Program;
