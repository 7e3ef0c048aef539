using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using EventSourcing.Events;
using EventSourcing.Forwarding;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace EventSourcing.Nats.Tests;

/// <summary><c>AddNatsEventConsumer</c>: the consumer as a hosted service, its handler resolved per event, its options checked.</summary>
public sealed class NatsEventConsumerRegistrationTests(NatsFixture nats)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_hosted_consumer_hands_each_event_to_the_handler_until_the_host_stops()
    {
        var transport = NatsTestOptions.Fresh(nats.Url);
        await using (var publisher = new NatsJetStreamTransport(transport))
        {
            await publisher.PublishAsync([new ForwardedEvent(Guid.NewGuid(), "order-1", 1, 1, "order-placed.v1", Encoding.UTF8.GetBytes("{}"), EventMetadata.Empty, DateTimeOffset.UtcNow)], Ct);
        }

        var services = new ServiceCollection();
        services.AddSingleton<Seen>();
        services.AddNatsEventConsumer<RecordingHandler>(o => (o.Url, o.StreamName, o.DurableName, o.FilterSubject) = (nats.Url, transport.StreamName, "hosted", $"{transport.SubjectPrefix}.>"));
        await using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        var hosted = provider.GetServices<IHostedService>().Single();
        await hosted.StartAsync(Ct);
        try
        {
            var seen = provider.GetRequiredService<Seen>();
            var deadline = Stopwatch.StartNew();
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
            while (seen.Events.IsEmpty)
            {
                Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), "the hosted consumer handled nothing");
                await timer.WaitForNextTickAsync(Ct);
            }

            Assert.Equal("order-1", seen.Events.Single().StreamId);
        }
        finally
        {
            await hosted.StopAsync(Ct);
        }
    }

    [Fact]
    public void Without_AddEventSourcing_the_trusted_reader_says_what_to_register()
    {
        var services = new ServiceCollection();
        services.AddNatsEventConsumer<RecordingHandler>(o => o.DurableName = "reader");
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<TrustedEventReader>());
        Assert.Contains("AddEventSourcing", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("has.dot")]
    public void A_durable_name_that_is_missing_or_not_a_token_is_refused_at_registration(string durable) =>
        Assert.ThrowsAny<ArgumentException>(() => new ServiceCollection().AddNatsEventConsumer<RecordingHandler>(o => o.DurableName = durable));

    [Fact]
    public void A_start_sequence_and_a_start_time_together_are_refused() =>
        Assert.Throws<ArgumentException>(() => new ServiceCollection().AddNatsEventConsumer<RecordingHandler>(o =>
        {
            o.DurableName = "both";
            (o.StartSequence, o.StartTime) = (3, DateTimeOffset.UtcNow);
        }));

    private sealed class Seen
    {
        public ConcurrentQueue<ReceivedEvent> Events { get; } = new();
    }

    private sealed class RecordingHandler(Seen seen) : IReceivedEventProcessor
    {
        public Task HandleAsync(ReceivedEvent received, CancellationToken cancellationToken)
        {
            seen.Events.Enqueue(received);
            return Task.CompletedTask;
        }
    }
}
