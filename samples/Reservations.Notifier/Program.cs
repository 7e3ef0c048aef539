using Reservations.Notifier;

// Reads the reservation API's confirmations from NATS JetStream and writes the e-mail each would send to the outbox.
var builder = Host.CreateApplicationBuilder(args);
builder.Logging.AddFilter("NATS", LogLevel.Warning); // the client's connection chatter
builder.Services.AddNotifier(builder.Configuration);
using var host = builder.Build();
await host.RunAsync();
