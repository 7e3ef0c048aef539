using EventSourcing.Nats;
using Microsoft.Extensions.DependencyInjection;

namespace EventSourcing.Docs.Tests.Snippets.Forwarding;

// docs/forwarding.md, "Consuming": a durable consumer as a hosted service, and a trusted consumer's handler.
internal static class Consuming
{
    public static void Register(IServiceCollection services)
    {
        services.AddNatsEventConsumer<OrderMailer>(consumer =>
        {
            consumer.Url = "nats://127.0.0.1:4222";
            consumer.StreamName = "EVENTSOURCING";                  // the transport's stream
            consumer.DurableName = "order-mailer";                  // JetStream keeps the position under it
            consumer.FilterSubject = "eventsourcing.order.>";       // one category
            consumer.EventTypes = ["order-placed.v1"];              // the others are acknowledged, not handled
            consumer.MaxAttempts = 5;                               // then the event is terminated and an error logged
            consumer.RetryDelay = TimeSpan.FromSeconds(1);          // before a failed event is delivered again
            consumer.StartSequence = null;                          // a new durable: from this sequence,
            consumer.StartTime = null;                              // or this time; by default the first event
        });
    }

    public sealed class OrderMailer(TrustedEventReader reader) : IReceivedEventProcessor
    {
        public async Task HandleAsync(ReceivedEvent received, CancellationToken cancellationToken)
        {
            var read = await reader.ReadAsync(received, cancellationToken);   // decrypted through the shared key store
            if (read.PersonalDataErased)
            {
                return;   // the subject was forgotten: its values read as placeholders
            }

            // ... send the e-mail for read.Data
        }
    }
}
