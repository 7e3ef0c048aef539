using System.Diagnostics;
using System.Globalization;
using EventSourcing.Benchmarks.Domain;
using EventSourcing.Benchmarks.Harness;
using EventSourcing.Events;
using EventSourcing.Forwarding;
using EventSourcing.Hosting;
using EventSourcing.Marten.Hosting;
using EventSourcing.Nats;
using EventSourcing.Reactors;
using EventSourcing.Storage;
using EventSourcing.Testing.Nats;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace EventSourcing.Benchmarks.Scenarios;

/// <summary>
/// The forwarder publishing the log to NATS JetStream, on a throwaway <c>nats-server</c> on loopback, from the in-memory
/// store and from PostgreSQL.
/// <para>
/// Rate: a log of N events over 1,000 streams, forwarded from the start until the forwarder has handled the head. In
/// interleaved rounds beside it: the same events published by <see cref="NatsJetStreamTransport"/> alone, in pages of
/// the size the in-memory store gives the forwarder; a plain NATS.Net JetStream publish loop with the same subjects,
/// headers, bodies, pages and in-flight bound; and the forwarder's own work without a broker (the log read page by
/// page, each event serialized). Each round publishes to a new JetStream stream, which must then hold exactly N messages.
/// </para>
/// <para>
/// Lag: single-event appends at a fixed rate (paced every 5 ms) through a host running the forwarder, after 10 uncounted
/// events that open its connection, with an ordered JetStream consumer reading what the broker stored. Every 100 ms the
/// head is compared with the broker's message count and the forwarder's committed checkpoint; for every event, the time
/// from its store timestamp to its arrival at the consumer is recorded. Then the same under the <c>http</c> scenario's
/// load, with the sample API forwarding its own log (<c>ForwardingScenario.Http.cs</c>).
/// </para>
/// </summary>
public static partial class ForwardingScenario
{
    public const string Name = "forwarding";

    /// <summary>The in-memory store's log page: what the forwarder hands the transport at once when it is behind.</summary>
    private const int PageSize = 1_000;

    private const int Streams = 1_000;
    private const string ReadOnly = "read and serialize only";
    private const int MaxInFlight = 256;
    private const int WarmUpEvents = 10;
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan DuplicateWindow = TimeSpan.FromMinutes(2);
    private static readonly string MasterKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
    private static readonly string[] ServerPaths = ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"];
    private static readonly NatsRawSerializer<ReadOnlyMemory<byte>> Body = NatsRawSerializer<ReadOnlyMemory<byte>>.Default;

    public static async Task<ScenarioReport> RunAsync(BenchmarkContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var count = context.Size(100_000, 2_000);
        var streams = context.Size(Streams, 20);
        var rounds = context.Size(5, 1);
        var machine = await context.DescribeAsync(withPostgres: true, cancellationToken).ConfigureAwait(false);
        machine["nats.server"] = NatsServerVersion();
        var report = new ScenarioReport(Name, context.Quick) { Machine = machine };
        context.Log("starting nats-server...");
        var server = await NatsServer.StartAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        await using (server.ConfigureAwait(false))
        {
            var broker = new Broker(server);
            await using (broker.ConfigureAwait(false))
            {
                await RateAsync(context, report, broker, count, streams, rounds, cancellationToken).ConfigureAwait(false);
                var duration = TimeSpan.FromSeconds(context.Size(20, 2));
                foreach (var rate in context.Quick ? [100] : new[] { 500, 2_000 })
                {
                    await LagAsync(context, report, broker, rate, duration, streams, postgres: null, cancellationToken).ConfigureAwait(false);
                }

                var lagDatabase = await context.CreateDatabaseAsync("bench_forwarding_lag", cancellationToken).ConfigureAwait(false);
                await LagAsync(context, report, broker, context.Size(200, 50), duration, streams, lagDatabase, cancellationToken).ConfigureAwait(false);
                await LagUnderHttpAsync(context, report, broker, cancellationToken).ConfigureAwait(false);
            }
        }

        if (File.Exists("/proc/loadavg"))
        {
            machine["loadavg.end"] = string.Join(' ', (await File.ReadAllTextAsync("/proc/loadavg", cancellationToken).ConfigureAwait(false)).Split(' ').Take(3)); // as the scenario ended
        }

        report.Notes.Add($"in-memory store, and PostgreSQL for the row that says so; nats-server {machine["nats.server"]} (-js, file storage, loopback) on the same machine; {streams:N0} streams; in-flight bound {MaxInFlight}, pages of {PageSize:N0}; duplicate window {DuplicateWindow.TotalMinutes:0} min");
        return report;
    }

    private static async Task RateAsync(BenchmarkContext context, ScenarioReport report, Broker broker, int count, int streams, int rounds, CancellationToken cancellationToken)
    {
        // The messages of the two baselines: the log's events as the forwarder builds them, from a store filled alike.
        IReadOnlyList<ForwardedEvent> events;
        var source = BuildHost(broker.Url, stream: "unused", forwarder: false);
        await using (source.ConfigureAwait(false))
        {
            await FillAsync(source.GetRequiredService<IEventStore>(), count, streams, cancellationToken).ConfigureAwait(false);
            var serializer = source.GetRequiredService<IEventSerializer>();
            events = await source.GetRequiredService<IEventStore>().ReadAllAsync(1, cancellationToken)
                .Select(e => new ForwardedEvent(e.EventId, e.StreamId, e.StreamVersion, e.Position, e.EventType, serializer.Serialize(e.Data).Data, e.Metadata, e.Timestamp))
                .ToListAsync(cancellationToken).ConfigureAwait(false);
        }

        var pages = events.Chunk(PageSize).ToArray();
        var postgres = await context.CreateDatabaseAsync("bench_forwarding", cancellationToken).ConfigureAwait(false);
        var filled = BuildHost(broker.Url, stream: "unused", forwarder: false, postgres);
        await using (filled.ConfigureAwait(false))
        {
            await Apps.PrepareAsync(filled, cancellationToken).ConfigureAwait(false);
            await FillAsync(filled.GetRequiredService<IEventStore>(), count, streams, cancellationToken).ConfigureAwait(false);
        }

        report.Notes.Add($"event bodies (JSON, as the forwarder sends them): {events.Average(e => e.Data.Length):0} bytes on average");
        (string Name, Func<string, Meter, CancellationToken, Task> Run)[] variants =
        [
            ("forwarder", (stream, meter, token) => ForwardAsync(broker.Url, stream, count, streams, meter, token)),
            ("forwarder, PostgreSQL", (stream, meter, token) => ForwardFromPostgresAsync(broker.Url, stream, postgres, meter, token)),
            ("transport alone", (stream, meter, token) => TransportAsync(broker.Url, stream, pages, meter, token)),
            ("raw NATS.Net", (stream, meter, token) => RawAsync(broker.Url, stream, pages, meter, token)),
            (ReadOnly, (_, meter, token) => ReadAndSerializeAsync(broker.Url, count, streams, meter, token)),
        ];
        var measured = variants.ToDictionary(v => v.Name, _ => new List<Meter>(), StringComparer.Ordinal);
        var complete = variants.ToDictionary(v => v.Name, _ => true, StringComparer.Ordinal);
        var next = 0;
        context.Log($"{rounds} rounds of {count:N0} events over {streams:N0} streams per variant, after a warm-up round");
        for (var round = -1; round < rounds; round++)
        {
            foreach (var (variant, run) in variants)
            {
                var stream = $"BENCH{++next}";
                var meter = new Meter(broker);
                await run(stream, meter, cancellationToken).ConfigureAwait(false);
                var stored = variant == ReadOnly ? count : await broker.CountAsync(stream, cancellationToken).ConfigureAwait(false);
                await broker.DeleteAsync(stream, cancellationToken).ConfigureAwait(false);
                context.Log($"{(round < 0 ? "warm-up" : $"round {round + 1}/{rounds}")} {variant}: {meter.Elapsed.TotalMilliseconds:N0} ms, {count / meter.Elapsed.TotalSeconds:N0} events/s{(variant == ReadOnly ? string.Empty : $"; the broker holds {stored:N0} messages")}");
                if (round >= 0)
                {
                    measured[variant].Add(meter);
                    complete[variant] &= stored == count;
                }
            }
        }

        double Rate(string variant) => count / Rounds.Median(measured[variant].Select(m => m.Elapsed).ToArray()).TotalSeconds;
        var forwarder = Rate("forwarder");
        var transport = Rate("transport alone");
        var raw = Rate("raw NATS.Net");
        report.Add(new ResultRow("forwarder, log to broker", count, forwarder, "events/s", forwarder / raw, "of raw NATS.Net rate"));
        report.Add(new ResultRow("NatsJetStreamTransport alone, pages of 1,000", count, transport, "events/s", transport / raw, "of raw NATS.Net rate"));
        report.Add(new ResultRow("raw NATS.Net JetStream publish, pages of 1,000", count, raw, "events/s"));
        report.Add(new ResultRow("forwarder / transport alone", count, forwarder / transport, "rate ratio"));
        var fromPostgres = Rate("forwarder, PostgreSQL");
        report.Add(new ResultRow("forwarder from PostgreSQL, log to broker", count, fromPostgres, "events/s", fromPostgres / raw, "of raw NATS.Net rate"));
        report.Add(new ResultRow("the forwarder's reading alone: log pages read and each event serialized, no broker", count, Rate(ReadOnly), "events/s"));
        foreach (var (variant, meters) in measured)
        {
            var published = count * (double)meters.Count;
            report.Add(new ResultRow($"{variant}: CPU per event, this process", count, meters.Sum(m => m.Cpu.Process.TotalMilliseconds) * 1_000 / published, "µs"));
            report.Add(new ResultRow($"{variant}: CPU per event, nats-server", count, meters.Sum(m => m.ServerCpu.TotalMilliseconds) * 1_000 / published, "µs"));
            report.Add(new ResultRow($"{variant}: CPU per event, whole machine", count, meters.Sum(m => m.Cpu.Machine.TotalMilliseconds) * 1_000 / published, "µs"));
        }

        foreach (var (variant, met) in complete.Where(c => c.Key != ReadOnly))
        {
            report.Check($"{variant}: the broker holds exactly {count:N0} messages after every round", met ? "yes" : "no", met);
        }

        report.Notes.Add($"rate: median of {rounds} interleaved rounds after a warm-up round; each round a new connection to a new JetStream stream, the connection and the stream's creation timed; the forwarder timed from starting its host (store filled beforehand) until it has handled the head");
    }

    /// <summary>A host whose store holds the log starts its forwarder; done when the forwarder has handled the head.</summary>
    private static async Task ForwardAsync(string url, string stream, int count, int streams, Meter meter, CancellationToken cancellationToken)
    {
        var services = BuildHost(url, stream, forwarder: true);
        await using (services.ConfigureAwait(false))
        {
            var store = services.GetRequiredService<IEventStore>();
            await FillAsync(store, count, streams, cancellationToken).ConfigureAwait(false);
            var head = await store.ReadHeadPositionAsync(cancellationToken).ConfigureAwait(false);
            var status = services.GetRequiredService<ReactorStatusReader>();
            meter.Start();
            var hosted = await StartAsync(services, cancellationToken).ConfigureAwait(false);
            try
            {
                var reached = await status.WaitForAsync("forwarder", head, Patience, cancellationToken).ConfigureAwait(false);
                meter.Stop();
                if (!reached)
                {
                    throw new TimeoutException($"The forwarder did not reach position {head} within {Patience.TotalMinutes} min.");
                }
            }
            finally
            {
                await StopAsync(hosted).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// A host on the PostgreSQL database holding the log starts a forwarder of a new name (so a checkpoint of its own, from
    /// the start of the log); done when it has handled the head.
    /// </summary>
    private static async Task ForwardFromPostgresAsync(string url, string stream, string postgres, Meter meter, CancellationToken cancellationToken)
    {
        var name = $"forwarder-{stream.ToLowerInvariant()}";
        var services = BuildHost(url, stream, forwarder: true, postgres, name);
        await using (services.ConfigureAwait(false))
        {
            var head = await services.GetRequiredService<IEventStore>().ReadHeadPositionAsync(cancellationToken).ConfigureAwait(false);
            var status = services.GetRequiredService<ReactorStatusReader>();
            meter.Start();
            var hosted = await StartAsync(services, cancellationToken).ConfigureAwait(false);
            try
            {
                var reached = await status.WaitForAsync(name, head, Patience, cancellationToken).ConfigureAwait(false);
                meter.Stop();
                if (!reached)
                {
                    throw new TimeoutException($"The forwarder did not reach position {head} within {Patience.TotalMinutes} min.");
                }
            }
            finally
            {
                await StopAsync(hosted).ConfigureAwait(false);
            }
        }
    }

    /// <summary>What the forwarder does before the transport: the log followed page by page from the start, each event serialized into a <see cref="ForwardedEvent"/>.</summary>
    private static async Task ReadAndSerializeAsync(string url, int count, int streams, Meter meter, CancellationToken cancellationToken)
    {
        var services = BuildHost(url, stream: "unused", forwarder: false);
        await using (services.ConfigureAwait(false))
        {
            var store = services.GetRequiredService<IEventStore>();
            var serializer = services.GetRequiredService<IEventSerializer>();
            await FillAsync(store, count, streams, cancellationToken).ConfigureAwait(false);
            meter.Start();
            var read = 0L;
            await foreach (var page in store.FollowAsync(1, null, cancellationToken).ConfigureAwait(false))
            {
                var forwarded = new ForwardedEvent[page.Events.Count];
                for (var i = 0; i < forwarded.Length; i++)
                {
                    var e = page.Events[i];
                    forwarded[i] = new ForwardedEvent(e.EventId, e.StreamId, e.StreamVersion, e.Position, e.EventType, serializer.Serialize(e.Data).Data, e.Metadata, e.Timestamp);
                }

                read += forwarded.Length;
                if (page.CaughtUp)
                {
                    break;
                }
            }

            meter.Stop();
            if (read != count)
            {
                throw new InvalidOperationException($"Read {read} events of {count}.");
            }
        }
    }

    private static async Task TransportAsync(string url, string stream, ForwardedEvent[][] pages, Meter meter, CancellationToken cancellationToken)
    {
        meter.Start();
        var transport = new NatsJetStreamTransport(TransportOptions(url, stream));
        await using (transport.ConfigureAwait(false))
        {
            foreach (var page in pages)
            {
                await transport.PublishAsync(page, cancellationToken).ConfigureAwait(false);
            }

            meter.Stop();
        }
    }

    /// <summary>NATS.Net's own JetStream publish: each page's messages sent at most 256 awaiting their acknowledgement, every one awaited before the next page.</summary>
    private static async Task RawAsync(string url, string stream, ForwardedEvent[][] pages, Meter meter, CancellationToken cancellationToken)
    {
        meter.Start();
        var connection = new NatsConnection(NatsOpts.Default with { Url = url, HeaderEncoding = System.Text.Encoding.UTF8 });
        await using (connection.ConfigureAwait(false))
        {
            var jetStream = new NatsJSContext(connection);
            await jetStream.CreateOrUpdateStreamAsync(StreamConfig(stream, stream.ToLowerInvariant()), cancellationToken).ConfigureAwait(false);
            using var slots = new SemaphoreSlim(MaxInFlight, MaxInFlight);
            var prefix = stream.ToLowerInvariant();
            foreach (var page in pages)
            {
                var acknowledgements = new List<Task>(page.Length);
                foreach (var @event in page)
                {
                    await slots.WaitAsync(cancellationToken).ConfigureAwait(false);
                    acknowledgements.Add(PublishOneAsync(jetStream, prefix, @event, slots, cancellationToken));
                }

                await Task.WhenAll(acknowledgements).ConfigureAwait(false);
            }

            meter.Stop();
        }

        static async Task PublishOneAsync(NatsJSContext jetStream, string prefix, ForwardedEvent @event, SemaphoreSlim slots, CancellationToken cancellationToken)
        {
            try
            {
                var ack = await jetStream.PublishAsync(NatsSubjects.For(prefix, @event.StreamId), @event.Data, Body, headers: Headers(@event), cancellationToken: cancellationToken).ConfigureAwait(false);
                ack.EnsureSuccess();
            }
            finally
            {
                slots.Release();
            }
        }
    }

    /// <summary>The headers <see cref="NatsJetStreamTransport"/> gives a message (docs/forwarding.md, "Messages").</summary>
    private static NatsHeaders Headers(ForwardedEvent @event)
    {
        var headers = new NatsHeaders
        {
            ["Nats-Msg-Id"] = @event.EventId.ToString("D"),
            [NatsEventHeaders.EventType] = @event.EventType,
            [NatsEventHeaders.Position] = @event.Position.ToString(CultureInfo.InvariantCulture),
            [NatsEventHeaders.StreamId] = @event.StreamId,
            [NatsEventHeaders.StreamVersion] = @event.StreamVersion.ToString(CultureInfo.InvariantCulture),
            [NatsEventHeaders.Timestamp] = @event.Timestamp.ToString("O", CultureInfo.InvariantCulture),
            [NatsEventHeaders.ContentType] = "application/json",
        };
        if (@event.Metadata.CorrelationId is { } correlation)
        {
            headers[NatsEventHeaders.CorrelationId] = correlation;
        }

        if (@event.Metadata.CommandId is { } command)
        {
            headers[NatsEventHeaders.CommandId] = command.ToString("D");
        }

        return headers;
    }

    /// <summary>
    /// Appends <paramref name="rate"/> events a second, one per append, for <paramref name="duration"/> (open loop: each
    /// append has its due time, late ones are caught up at once) through a host running the forwarder.
    /// </summary>
    private static async Task LagAsync(BenchmarkContext context, ScenarioReport report, Broker broker, int rate, TimeSpan duration, int streams, string? postgres, CancellationToken cancellationToken)
    {
        var store = postgres is null ? "in memory" : "PostgreSQL";
        var stream = $"LAG{rate}{(postgres is null ? string.Empty : "PG")}";
        await broker.CreateAsync(stream, cancellationToken).ConfigureAwait(false);
        var services = BuildHost(broker.Url, stream, forwarder: true, postgres);
        await using (services.ConfigureAwait(false))
        {
            await Apps.PrepareAsync(services, cancellationToken).ConfigureAwait(false);
            var events = services.GetRequiredService<IEventStore>();
            var status = services.GetRequiredService<ReactorStatusReader>();
            var hosted = await StartAsync(services, cancellationToken).ConfigureAwait(false);
            // A few events first, not counted: the forwarder's connection and the stream's update are made on its first page.
            for (var i = 0; i < WarmUpEvents; i++)
            {
                await events.AppendAsync($"warm-{i}", ExpectedVersion.Any, [Ledger.Event(i, personal: false)], Metadata(i), cancellationToken).ConfigureAwait(false);
            }

            await status.WaitForAsync("forwarder", await events.ReadHeadPositionAsync(cancellationToken).ConfigureAwait(false), Patience, cancellationToken).ConfigureAwait(false);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var consumer = new ArrivalRecorder(WarmUpEvents);
            var consuming = Task.Run(() => consumer.ConsumeAsync(broker.JetStream, stream, stop.Token), CancellationToken.None);
            var brokerLag = new List<double>();
            var checkpointLag = new List<double>();
            var newestAge = new List<double>();
            var sampling = Task.Run(
                async () =>
                {
                    using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
                    while (await tick.WaitForNextTickAsync(stop.Token).ConfigureAwait(false))
                    {
                        var head = await events.ReadHeadPositionAsync(stop.Token).ConfigureAwait(false);
                        var stored = await broker.CountAsync(stream, stop.Token).ConfigureAwait(false);
                        var committed = (await status.ReadAsync(stop.Token).ConfigureAwait(false)).Single(s => s.Name == "forwarder").Position;
                        brokerLag.Add(Math.Max(0, head - stored));
                        checkpointLag.Add(Math.Max(0, head - committed));
                        if (consumer.Newest is { } newest)
                        {
                            newestAge.Add((DateTimeOffset.UtcNow - newest).TotalMilliseconds);
                        }
                    }
                },
                CancellationToken.None);

            var total = (int)(rate * duration.TotalSeconds);
            var watch = Stopwatch.StartNew();
            try
            {
                using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(5));
                var appended = 0;
                while (appended < total)
                {
                    var due = Math.Min(total, (int)(watch.Elapsed.TotalSeconds * rate) + 1);
                    for (; appended < due; appended++)
                    {
                        await events.AppendAsync($"seats-{appended % streams}", ExpectedVersion.Any, [Ledger.Event(appended, personal: false)], Metadata(appended), cancellationToken).ConfigureAwait(false);
                    }

                    await tick.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false);
                }

                var offered = total / watch.Elapsed.TotalSeconds;
                var head = await events.ReadHeadPositionAsync(cancellationToken).ConfigureAwait(false);
                var caughtUp = await status.WaitForAsync("forwarder", head, Patience, cancellationToken).ConfigureAwait(false);
                await Poll.UntilAsync(_ => Task.FromResult(consumer.Count >= WarmUpEvents + total), TimeSpan.FromMilliseconds(20), Patience, "the consumer to read every event", cancellationToken).ConfigureAwait(false);
                await stop.CancelAsync().ConfigureAwait(false);
                await IgnoreCancellationAsync(sampling).ConfigureAwait(false);
                await IgnoreCancellationAsync(consuming).ConfigureAwait(false);
                var stored = await broker.CountAsync(stream, cancellationToken).ConfigureAwait(false);
                var deadLetters = (await status.ReadAsync(cancellationToken).ConfigureAwait(false)).Single(s => s.Name == "forwarder").DeadLetters;

                var latency = consumer.Latencies.Order().ToArray();
                var inBroker = brokerLag.Order().ToArray();
                var inCheckpoint = checkpointLag.Order().ToArray();
                var age = newestAge.Order().ToArray();
                context.Log($"lag at {offered:N0} events/s, {store}: store to consumer p50 {Rounds.Percentile(latency, 50):0.0} ms, p99 {Rounds.Percentile(latency, 99):0.0} ms, max {latency.LastOrDefault():0.0} ms; head - broker p50 {Rounds.Percentile(inBroker, 50):0}, p99 {Rounds.Percentile(inBroker, 99):0}, max {inBroker.LastOrDefault():0} events");
                var label = $"lag at {rate:N0} events/s, {store}";
                report.Add(new ResultRow($"{label}: appends offered", total, offered, "events/s"));
                AddPercentiles(report, label, "store timestamp to consumer arrival", latency, "ms");
                AddPercentiles(report, label, "head - messages in the broker, every 100 ms", inBroker, "events");
                AddPercentiles(report, label, "head - committed checkpoint, every 100 ms", inCheckpoint, "events");
                AddPercentiles(report, label, "age of the newest event read from the broker, every 100 ms", age, "ms");

                var whole = caughtUp && stored == WarmUpEvents + total && consumer.Count == WarmUpEvents + total && deadLetters == 0;
                report.Check($"{label}: every event in the broker once, none set aside", $"{stored:N0} of {WarmUpEvents + total:N0} stored, {consumer.Count:N0} read, {deadLetters} dead letters", whole);
            }
            finally
            {
                await stop.CancelAsync().ConfigureAwait(false);
                await IgnoreCancellationAsync(sampling).ConfigureAwait(false);
                await IgnoreCancellationAsync(consuming).ConfigureAwait(false);
                await StopAsync(hosted).ConfigureAwait(false);
                await broker.DeleteAsync(stream, CancellationToken.None).ConfigureAwait(false);
            }
        }

        report.Notes.Add($"lag at {rate:N0} events/s, {store}: {duration.TotalSeconds:0} s of single-event appends, one after the other, to the store {(postgres is null ? "in memory" : "on PostgreSQL")} in this process (paced every 5 ms; the forwarder, its default 1 s checkpoint interval, and the load in one process; 10 events first, not counted, open the forwarder's connection); an ordered JetStream consumer in this process reads what the broker stored; lag in events from the broker's message count and from the forwarder's committed checkpoint, sampled every 100 ms");
    }

    private static async Task IgnoreCancellationAsync(Task task)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopped on purpose.
        }
    }

    private static ServiceProvider BuildHost(string url, string stream, bool forwarder, string? postgres = null, string name = "forwarder")
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddNatsTransport(o =>
        {
            var options = TransportOptions(url, stream);
            (o.Url, o.StreamName, o.SubjectPrefix, o.DuplicateWindow, o.MaxInFlight) = (options.Url, options.StreamName, options.SubjectPrefix, options.DuplicateWindow, options.MaxInFlight);
        });
        services.AddEventSourcing(es =>
        {
            Ledger.Register(es.Events);
            es.ConfigurePersonalData(options => options.MasterKey = MasterKey);
            if (postgres is not null)
            {
                es.UseMarten(postgres, marten => marten.AutoCreateSchemaObjects = JasperFx.AutoCreate.CreateOrUpdate);
            }

            if (forwarder)
            {
                es.AddForwarder(o => o.Name = name);
            }
        });
        return services.BuildServiceProvider();
    }

    private static NatsTransportOptions TransportOptions(string url, string stream) => new()
    {
        Url = url,
        StreamName = stream,
        SubjectPrefix = stream.ToLowerInvariant(),
        DuplicateWindow = DuplicateWindow,
        MaxInFlight = MaxInFlight,
    };

    private static StreamConfig StreamConfig(string stream, string prefix) => new(stream, [prefix + ".>"])
    {
        Storage = StreamConfigStorage.File,
        DuplicateWindow = DuplicateWindow,
    };

    private static async Task FillAsync(IEventStore store, int count, int streams, CancellationToken cancellationToken)
    {
        var perStream = count / streams;
        for (var s = 0; s < streams; s++)
        {
            var events = Enumerable.Range(0, perStream).Select(i => Ledger.Event(((long)s * perStream) + i, personal: false)).ToArray();
            await store.AppendAsync($"seats-{s}", ExpectedVersion.NoStream, events, Metadata(s), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>A command's metadata, as the command pipeline writes it: command id and correlation id.</summary>
    private static EventMetadata Metadata(long index) => new()
    {
        CommandId = Guid.CreateVersion7(),
        CorrelationId = $"bench-{index.ToString(CultureInfo.InvariantCulture)}",
    };

    private static async Task<List<IHostedService>> StartAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        var started = new List<IHostedService>();
        foreach (var service in services.GetServices<IHostedService>())
        {
            await service.StartAsync(cancellationToken).ConfigureAwait(false);
            started.Add(service);
        }

        return started;
    }

    private static async Task StopAsync(List<IHostedService> started)
    {
        foreach (var service in Enumerable.Reverse(started))
        {
            await service.StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    private static string NatsServerVersion()
    {
        var program = ServerPaths.FirstOrDefault(File.Exists) ?? "nats-server";
        try
        {
            using var process = Process.Start(new ProcessStartInfo(program, "--version") { RedirectStandardOutput = true, UseShellExecute = false })!;
            var output = process.StandardOutput.ReadToEnd().Trim();
            process.WaitForExit();
            return output.Replace("nats-server: ", string.Empty, StringComparison.Ordinal);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "unknown";
        }
    }

    /// <summary>The wall time, this process's and the machine's CPU, and the server's CPU between <see cref="Start"/> and <see cref="Stop"/>.</summary>
    private sealed class Meter(Broker broker)
    {
        private readonly Stopwatch _watch = new();
        private CpuSample _cpu;
        private TimeSpan _server;

        public TimeSpan Elapsed => _watch.Elapsed;

        public CpuSample Cpu { get; private set; }

        public TimeSpan ServerCpu { get; private set; }

        public void Start()
        {
            (_cpu, _server) = (CpuSample.Take(), broker.ServerCpu());
            _watch.Restart();
        }

        public void Stop()
        {
            _watch.Stop();
            (Cpu, ServerCpu) = (CpuSample.Take() - _cpu, broker.ServerCpu() - _server);
        }
    }

    /// <summary>The throwaway server: its JetStream API and its process's CPU time.</summary>
    private sealed class Broker(NatsServer server) : IAsyncDisposable
    {
        private readonly NatsConnection _connection = new(NatsOpts.Default with { Url = server.Url, HeaderEncoding = System.Text.Encoding.UTF8 });

        public string Url => server.Url;

        public NatsJSContext JetStream => new(_connection);

        public async Task CreateAsync(string stream, CancellationToken cancellationToken) =>
            await JetStream.CreateOrUpdateStreamAsync(StreamConfig(stream, stream.ToLowerInvariant()), cancellationToken).ConfigureAwait(false);

        public async Task<long> CountAsync(string stream, CancellationToken cancellationToken)
        {
            try
            {
                var info = await JetStream.GetStreamAsync(stream, cancellationToken: cancellationToken).ConfigureAwait(false);
                return (long)info.Info.State.Messages;
            }
            catch (NatsJSApiException exception) when (exception.Error.Code == 404)
            {
                return 0;
            }
        }

        public async Task DeleteAsync(string stream, CancellationToken cancellationToken)
        {
            try
            {
                await JetStream.DeleteStreamAsync(stream, cancellationToken).ConfigureAwait(false);
            }
            catch (NatsJSApiException exception) when (exception.Error.Code == 404)
            {
                // Never created.
            }
        }

        /// <summary>The server process's user and system CPU time (<c>/proc/{pid}/stat</c>); zero where that cannot be read.</summary>
        public TimeSpan ServerCpu()
        {
            var pidFile = server.RootDirectory is { } root ? Path.Combine(root, "server.pid") : null;
            if (pidFile is null || !File.Exists(pidFile))
            {
                return TimeSpan.Zero;
            }

            var stat = $"/proc/{File.ReadAllText(pidFile).Trim()}/stat";
            if (!File.Exists(stat))
            {
                return TimeSpan.Zero;
            }

            var text = File.ReadAllText(stat);
            var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
            var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture); // utime, stime
            return TimeSpan.FromSeconds(ticks / 100.0); // USER_HZ is 100 on Linux
        }

        public ValueTask DisposeAsync() => _connection.DisposeAsync();
    }

    /// <summary>An ordered JetStream consumer over a stream: for every message, the time from its store timestamp to its arrival here.</summary>
    private sealed class ArrivalRecorder(int skip)
    {
        private readonly List<double> _latencies = [];
        private long _newestTicks;
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public DateTimeOffset? Newest => Volatile.Read(ref _newestTicks) is var ticks and > 0 ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;

        public IReadOnlyList<double> Latencies
        {
            get
            {
                lock (_latencies)
                {
                    return [.. _latencies];
                }
            }
        }

        public async Task ConsumeAsync(NatsJSContext jetStream, string stream, CancellationToken cancellationToken)
        {
            var consumer = await jetStream.CreateOrderedConsumerAsync(stream, cancellationToken: cancellationToken).ConfigureAwait(false);
            await foreach (var message in consumer.ConsumeAsync(NatsRawSerializer<byte[]>.Default, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                var now = DateTimeOffset.UtcNow;
                if (Interlocked.Increment(ref _count) > skip && message.Headers is { } headers && headers.TryGetValue(NatsEventHeaders.Timestamp, out var value))
                {
                    var stored = DateTimeOffset.Parse(value.ToString(), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);
                    lock (_latencies)
                    {
                        _latencies.Add((now - stored).TotalMilliseconds);
                    }

                    Volatile.Write(ref _newestTicks, Math.Max(Volatile.Read(ref _newestTicks), stored.UtcTicks));
                }
            }
        }
    }
}
