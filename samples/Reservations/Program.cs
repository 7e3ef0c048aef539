using EventSourcing.Cli;
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
using Reservations.PlacingReservation;
using Scalar.AspNetCore;

var projectionsCommand = args.Length > 0 && args[0] == ProjectionsCommand.Verb;
var builder = WebApplication.CreateBuilder(projectionsCommand ? [] : args);
if (projectionsCommand)
{
    builder.Configuration["Logging:LogLevel:Default"] = "Warning"; // the verbs print their own output
}

builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = RequestBodyLimit.MaxBytes);
builder.Services.AddReservations(builder.Configuration);
builder.Services.AddProblemDetails();
builder.Services.AddExceptionHandler<ProblemDetailsExceptionHandler>();
builder.Services.AddRequestDeadline();
builder.Services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
builder.Services.AddOpenApi();

var app = builder.Build();
if (await app.Services.RunProjectionsCommandAsync(args) is { } exitCode)
{
    return exitCode; // dotnet run --project samples/Reservations -- projections list | status | rebuild | verify
}

app.UseExceptionHandler();
app.UseStatusCodePages(context => ProblemDetailsExceptionHandler.WriteAsync(context.HttpContext, new Microsoft.AspNetCore.Mvc.ProblemDetails
{
    Status = context.HttpContext.Response.StatusCode,
    Title = ReasonPhrases.GetReasonPhrase(context.HttpContext.Response.StatusCode),
}));
app.UseMiddleware<RequestBodyLimit>();
app.UseRequestTimeouts();

app.MapOpenApi();
app.MapScalarApiReference();
app.MapGet("/health", async (IEventStore store, CancellationToken cancellationToken) =>
    TypedResults.Ok(new { status = "healthy", head = await store.ReadHeadPositionAsync(cancellationToken) }));

app.MapGroup(string.Empty)
    .MapPlaceReservation()
    .MapGetReservation()
    .MapCancelReservation()
    .MapGetAvailability()
    .MapListReservations()
    .MapGetHistory();

app.MapGroup(string.Empty)
    .AddEndpointFilter<AdminApiKeyFilter>()
    .MapForgetGuest()
    .MapProjectionsStatus();

StartupLog.Report(app.Logger, app.Configuration);

await app.RunAsync();
return 0;

/// <summary>The sample's entry point, visible to <c>WebApplicationFactory</c> in the tests.</summary>
public partial class Program;
