using EventSourcing.Hosting;
using EventSourcing.Storage;

var builder = WebApplication.CreateBuilder(args);

// The embedded default: events in memory, no set-up. The reservation slices register their events and deciders here.
builder.Services.AddEventSourcing(eventSourcing => eventSourcing.UseInMemory());
builder.Services.AddProblemDetails();

var app = builder.Build();

app.UseExceptionHandler();
app.MapGet("/health", async (IEventStore store, CancellationToken cancellationToken) =>
    TypedResults.Ok(new { status = "healthy", head = await store.ReadHeadPositionAsync(cancellationToken) }));

app.Run();

/// <summary>The sample's entry point, visible to <c>WebApplicationFactory</c> in the tests.</summary>
public partial class Program;
