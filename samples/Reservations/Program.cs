var builder = WebApplication.CreateBuilder(args);

var app = builder.Build();

app.MapGet("/health", () => TypedResults.Ok(new { status = "healthy" }));

app.Run();

/// <summary>The sample's entry point, visible to <c>WebApplicationFactory</c> in the tests.</summary>
public partial class Program;
