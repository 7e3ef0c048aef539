using System.Diagnostics;
using EventSourcing.Events;
using EventSourcing.Forwarding;
using EventSourcing.Hosting;
using EventSourcing.Reactors;
using EventSourcing.Storage;
using EventSourcing.Testing.Contracts.Domain;
using EventSourcing.Testing.Contracts.Projections;
using EventSourcing.Testing.Nats;
using EventSourcing.Tests.Shared.Nats;
using Microsoft.Extensions.DependencyInjection;
using EventSourcing.Tests.Shared.Waiting;

namespace EventSourcing.Nats.Tests;

/// <summary>
/// The forwarder publishing the log to a real <c>nats-server</c> through <see cref="NatsJetStreamTransport"/>, with the
/// broker killed (kill -9) and started again in the middle of the stream: nothing lost, nothing doubled, each stream in order.
/// </summary>
public sealed class ForwardingToNatsTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_log_reaches_JetStream_once_and_in_order_per_stream_across_a_broker_killed_and_started_again()
    {
        await using var server = await NatsServer.StartAsync(new NatsServerOptions { Restartable = true }, Ct);
        var options = NatsTestOptions.Fresh(server.Url);
        await using var host = await ProjectionHost.StartAsync(
            es =>
            {
                TallyDecider.Register(es.Events);
                es.AddForwarder(o => o.CheckpointInterval = TimeSpan.FromMilliseconds(100));
            },
            configureServices: services => services.AddNatsTransport(o =>
            {
                (o.Url, o.StreamName, o.SubjectPrefix) = (options.Url, options.StreamName, options.SubjectPrefix);
                o.AckTimeout = TimeSpan.FromSeconds(2);
            }));
        var status = host.Services.GetRequiredService<ReactorStatusReader>();

        await AppendAsync(host, 1_000, streams: 20);
        await UntilAsync(async () => (await ForwarderAsync(status)).Position >= 200, "the forwarder to pass position 200");
        await server.StopAsync(NatsStopMode.Kill, Ct);
        await AppendAsync(host, 1_000, streams: 20); // the log goes on while the broker is down
        await UntilAsync(async () => (await ForwarderAsync(status)).State == ReactorStates.Retrying, "the forwarder to wait for the broker");
        await server.StartAgainAsync(Ct);
        var head = await host.Store.ReadHeadPositionAsync(Ct);
        Assert.True(await status.WaitForAsync("forwarder", head, Patience, Ct), "the forwarder did not reach the head after the broker came back");

        await AssertTheLogIsInJetStreamOnceInOrderAsync(host, server, options);
        Assert.Equal(0, (await ForwarderAsync(status)).DeadLetters);
    }

    [Fact]
    public async Task A_broker_slower_than_the_log_slows_the_forwarder_never_the_writers_and_the_log_reaches_it_once_in_order()
    {
        const int maxInFlight = 8;
        await using var server = await NatsServer.StartAsync(new NatsServerOptions { Restartable = true }, Ct);
        var options = NatsTestOptions.Fresh(server.Url, maxInFlight);
        await using var host = await ProjectionHost.StartAsync(
            es =>
            {
                TallyDecider.Register(es.Events);
                es.AddForwarder(o => o.CheckpointInterval = TimeSpan.FromMilliseconds(100));
            },
            configureServices: services => services.AddNatsTransport(o =>
            {
                (o.Url, o.StreamName, o.SubjectPrefix, o.MaxInFlight) = (options.Url, options.StreamName, options.SubjectPrefix, maxInFlight);
                o.AckTimeout = TimeSpan.FromSeconds(5); // longer than a freeze: the broker is slow, not away
            }));
        var status = host.Services.GetRequiredService<ReactorStatusReader>();
        var transport = Assert.IsType<NatsJetStreamTransport>(host.Services.GetRequiredService<IEventTransport>());
        await AppendAsync(host, 10, streams: 10);
        Assert.True(await status.WaitForAsync("forwarder", await host.Store.ReadHeadPositionAsync(Ct), Patience, Ct)); // connected

        // The broker frozen: the writers append 2,000 events, none of them waiting for it.
        await server.PauseAsync(Ct);
        var paused = true;
        try
        {
            await AppendAsync(host, 2_000, streams: 40);
            var behind = await ForwarderAsync(status);
            Assert.True(behind.Lag >= 1_990, $"the forwarder kept up with a frozen broker (lag {behind.Lag})");

            // Then frozen 400 ms of every 500 ms, far slower than the log, while the writers append 2,000 more.
            using var slow = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            var throttling = Task.Run(
                async () =>
                {
                    while (!slow.IsCancellationRequested)
                    {
                        await server.ResumeAsync(CancellationToken.None);
                        paused = false;
                        await Task.Delay(TimeSpan.FromMilliseconds(100), CancellationToken.None);
                        if (slow.IsCancellationRequested)
                        {
                            break;
                        }

                        await server.PauseAsync(CancellationToken.None);
                        paused = true;
                        await Task.Delay(TimeSpan.FromMilliseconds(400), CancellationToken.None);
                    }
                },
                CancellationToken.None);
            await AppendAsync(host, 2_000, streams: 40);
            var head = await host.Store.ReadHeadPositionAsync(Ct);
            var caughtUp = await status.WaitForAsync("forwarder", head, Patience, Ct);
            await slow.CancelAsync();
            await throttling;
            Assert.True(caughtUp, $"the forwarder did not reach the head through the slow broker: {await ForwarderAsync(status)}");
        }
        finally
        {
            if (paused)
            {
                await server.ResumeAsync(CancellationToken.None);
            }
        }

        await AssertTheLogIsInJetStreamOnceInOrderAsync(host, server, options);
        Assert.InRange(transport.MaxInFlightSeen, 2, maxInFlight);          // pipelined, and never past the bound
        Assert.Equal(0, (await ForwarderAsync(status)).DeadLetters);
    }

    /// <summary>Every event of the log is in the JetStream stream: none lost, none doubled, each stream in order.</summary>
    private static async Task AssertTheLogIsInJetStreamOnceInOrderAsync(ProjectionHost host, NatsServer server, NatsTransportOptions options)
    {
        var stored = await JetStreamReader.ReadAllAsync(server.Url, options.StreamName, Ct);
        var log = await host.Store.ReadAllAsync(1, Ct).ToListAsync(Ct);
        var counts = stored.GroupBy(e => e.EventId).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(0, counts.Values.Count(count => count > 1));          // doubled
        Assert.Equal(0, log.Count(e => !counts.ContainsKey(e.EventId)));   // lost
        Assert.Equal(log.Count, stored.Count);
        Assert.All(stored.GroupBy(e => e.StreamId), stream => Assert.Equal(stream.Select(e => e.StreamVersion).Order(), stream.Select(e => e.StreamVersion)));
    }

    private static async Task<EventSourcing.Projections.ProjectionStatus> ForwarderAsync(ReactorStatusReader status) =>
        (await status.ReadAsync(Ct)).Single(s => s.Name == "forwarder");

    private static async Task AppendAsync(ProjectionHost host, int count, int streams)
    {
        var prefix = Guid.NewGuid().ToString("N")[..8];
        for (var i = 0; i < count; i++)
        {
            await host.Store.AppendAsync($"tally-{prefix}{i % streams}", ExpectedVersion.Any, [new TallyIncreased(1, i)], EventMetadata.Empty, Ct);
        }
    }

    private static Task UntilAsync(Func<Task<bool>> condition, string what) => Eventually.UntilAsync(condition, what, Patience);
}
