using System.Diagnostics;
using System.Text;
using EventSourcing.Deciders;
using EventSourcing.Erasure;
using EventSourcing.Events;
using EventSourcing.Forwarding;
using EventSourcing.Privacy;
using EventSourcing.Projections;
using EventSourcing.Reactors;
using EventSourcing.Storage;
using EventSourcing.Testing.Contracts.Domain;
using EventSourcing.Testing.Contracts.Privacy;
using EventSourcing.Testing.Contracts.Projections;
using Microsoft.Extensions.DependencyInjection;
using EventSourcing.Tests.Shared.Waiting;

namespace EventSourcing.Core.Tests.Forwarding;

/// <summary>
/// The forwarder on the in-memory store, against a broker in memory that drops repeats by event id: every event once,
/// in log order; a broker that is down only delays it; a lost acknowledgement is sent again and dropped; an event the
/// broker refuses is set aside; personal data leaves sealed.
/// </summary>
public sealed class ForwarderTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>The largest page the in-memory store reads for a follower.</summary>
    private const int PageSize = 1_000;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Every_event_is_forwarded_once_in_log_order_and_the_checkpoint_follows_the_acknowledgements()
    {
        var transport = new RecordingTransport();
        await using var host = await StartAsync(transport);
        var appended = await AppendAsync(host, 500, streams: 10);

        await UntilAsync(() => transport.Stored.Count >= appended.Count);
        var status = host.Services.GetRequiredService<ReactorStatusReader>();
        Assert.True(await status.WaitForAsync("forwarder", appended[^1].Position, Patience, Ct));

        var stored = transport.Stored;
        Assert.Equal(appended.Select(e => e.Position), stored.Select(e => e.Position)); // all of them, once, in log order
        Assert.Equal(appended.Select(e => e.EventId), stored.Select(e => e.EventId));
        Assert.Equal(0, transport.Duplicates);
        var serializer = host.Services.GetRequiredService<IEventSerializer>();
        Assert.All(stored.Zip(appended), pair =>
        {
            Assert.Equal((pair.Second.StreamId, pair.Second.StreamVersion, pair.Second.EventType), (pair.First.StreamId, pair.First.StreamVersion, pair.First.EventType));
            Assert.Equal(pair.Second.Data, serializer.Deserialize(pair.First.EventType, pair.First.Data.Span).Data);
        });
        Assert.True(transport.PageSizes.Max() > 1, "the forwarder published one event at a time");
    }

    [Fact]
    public async Task A_broker_that_is_down_is_waited_for_and_forwarding_resumes_with_nothing_lost_or_doubled()
    {
        var transport = new RecordingTransport { Down = true };
        await using var host = await StartAsync(transport);
        var before = await AppendAsync(host, 100, streams: 5);
        await UntilAsync(() => Task.FromResult(transport.OutagesMet >= 2));
        Assert.Empty(transport.Stored);

        transport.Down = false;
        var after = await AppendAsync(host, 100, streams: 5);
        await UntilAsync(() => transport.Stored.Count >= 200);

        Assert.Equal(before.Concat(after).Select(e => e.Position), transport.Stored.Select(e => e.Position));
        Assert.Equal(0, transport.Duplicates);
        var states = (await host.Services.GetRequiredService<ReactorStatusReader>().ReadAsync(Ct)).Single(s => s.Name == "forwarder");
        Assert.Equal(0, states.DeadLetters);
    }

    [Fact]
    public async Task A_broker_slower_than_the_log_holds_the_forwarder_to_one_page_in_hand_without_slowing_the_writers_and_it_catches_up()
    {
        var transport = new RecordingTransport { Acknowledgements = new SemaphoreSlim(0) }; // acknowledges nothing until let
        await using var host = await StartAsync(transport);

        // The writers go on while the broker takes nothing: 3,000 events appended, none waiting for it.
        var appended = await AppendAsync(host, 3_000, streams: 30);
        await UntilAsync(() => transport.Calls == 1);
        var status = Assert.Single(await host.Services.GetRequiredService<ReactorStatusReader>().ReadAsync(Ct));

        Assert.Empty(transport.Stored);
        Assert.Equal(1, transport.Calls);                  // one page handed over; the next one not read ahead
        Assert.Single(transport.PageSizes);
        Assert.InRange(transport.PageSizes.Single(), 1, PageSize);
        Assert.Equal((0, appended[^1].Position), (status.Position, status.Lag)); // the checkpoint stays, the lag shows it

        // The broker now takes one page at a time, slowly: the forwarder follows at its pace and catches up.
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(10));
        var deadline = Stopwatch.StartNew();
        while (transport.Stored.Count < appended.Count)
        {
            Assert.True(deadline.Elapsed < Patience, $"the forwarder forwarded {transport.Stored.Count} of {appended.Count} events");
            transport.Acknowledgements.Release();
            await timer.WaitForNextTickAsync(Ct);
        }

        Assert.Equal(1, transport.MaxConcurrentCalls);                                  // never more than one page in hand
        Assert.All(transport.PageSizes, size => Assert.InRange(size, 1, PageSize));
        Assert.Equal(appended.Select(e => e.EventId), transport.Stored.Select(e => e.EventId)); // all of them, once, in log order
        Assert.Equal(0, transport.Duplicates);
    }

    [Fact]
    public async Task Events_whose_acknowledgement_was_lost_are_sent_again_and_the_broker_drops_the_repeats()
    {
        var transport = new RecordingTransport { LoseNextAcknowledgement = true };
        await using var host = await StartAsync(transport);
        var appended = await AppendAsync(host, 50, streams: 3);

        await UntilAsync(() => transport.Stored.Count >= appended.Count && transport.Duplicates > 0);

        Assert.Equal(appended.Select(e => e.Position), transport.Stored.Select(e => e.Position));
        Assert.True(transport.Duplicates > 0, "nothing was sent again");
    }

    [Fact]
    public async Task An_event_the_broker_always_refuses_is_set_aside_as_a_dead_letter_and_the_others_are_forwarded()
    {
        var transport = new RecordingTransport();
        await using var host = await StartAsync(transport, o => o.MaxAttempts = 2);
        transport.Down = true; // hold the forwarder until the refused event is known
        var appended = await AppendAsync(host, 20, streams: 2);
        var refused = appended[7];
        transport.Refused = refused.EventId;
        transport.Down = false;

        await UntilAsync(async () => (await host.ProjectionStore.ReadDeadLettersAsync(Reactor.CheckpointNameOf("forwarder"), Ct)).Count == 1
            && transport.Stored.Count == appended.Count - 1);

        var letter = Assert.Single(await host.ProjectionStore.ReadDeadLettersAsync(Reactor.CheckpointNameOf("forwarder"), Ct));
        Assert.Equal(refused.Position, letter.Position);
        Assert.Equal(appended.Where(e => e.EventId != refused.EventId).Select(e => e.Position), transport.Stored.Select(e => e.Position));
    }

    [Fact]
    public async Task Personal_values_leave_sealed_a_trusted_consumer_reads_them_and_after_a_forget_reads_them_erased()
    {
        var transport = new RecordingTransport();
        await using var host = await StartAsync(transport, configure: es =>
        {
            GuestDecider.Register(es.Events);
            es.AddDecider(GuestDecider.Decider);
        });
        var guest = Guid.NewGuid();
        var marker = Guid.NewGuid().ToString("N");
        var handler = host.Services.GetRequiredService<DeciderHandler<GuestCommand, GuestEvent, GuestState?>>();
        await handler.HandleAsync(GuestDecider.StreamOf(guest), new RegisterGuest(guest, $"Ada {marker}", $"ada.{marker}@example.com", [$"+44 {marker}"]), Ct);

        await UntilAsync(() => transport.Stored.Any(e => e.StreamId == GuestDecider.StreamOf(guest)));
        var forwarded = transport.Stored.Single(e => e.StreamId == GuestDecider.StreamOf(guest));
        var serializer = host.Services.GetRequiredService<IEventSerializer>();
        var before = (GuestRegistered)serializer.Deserialize(forwarded.EventType, forwarded.Data.Span).Data;
        await host.Services.GetRequiredService<PersonalDataEraser>().ForgetAsync(guest.ToString(), Ct);
        var after = (GuestRegistered)serializer.Deserialize(forwarded.EventType, forwarded.Data.Span).Data;

        Assert.DoesNotContain(marker, Encoding.UTF8.GetString(forwarded.Data.Span), StringComparison.Ordinal);
        Assert.Equal($"Ada {marker}", before.Name);
        Assert.Equal(("[erased]", guest), (after.Name, after.GuestId));
    }

    [Fact]
    public async Task Redacted_personal_values_leave_as_the_erased_marker_with_no_ciphertext_and_read_as_erased_without_any_key()
    {
        var transport = new RecordingTransport();
        await using var host = await StartAsync(transport, o => o.PersonalData = ForwardedPersonalData.Redacted, es =>
        {
            GuestDecider.Register(es.Events);
            es.AddDecider(GuestDecider.Decider);
        });
        var guest = Guid.NewGuid();
        var marker = Guid.NewGuid().ToString("N");
        var handler = host.Services.GetRequiredService<DeciderHandler<GuestCommand, GuestEvent, GuestState?>>();
        await handler.HandleAsync(GuestDecider.StreamOf(guest), new RegisterGuest(guest, $"Ada {marker}", $"ada.{marker}@example.com", [$"+44 {marker}"]), Ct);

        await UntilAsync(() => transport.Stored.Any(e => e.StreamId == GuestDecider.StreamOf(guest)));
        var forwarded = transport.Stored.Single(e => e.StreamId == GuestDecider.StreamOf(guest));
        var body = Encoding.UTF8.GetString(forwarded.Data.Span);

        // Another application, with a key store of its own that holds no key of the guest: it reads the event as erased.
        await using var stranger = await ProjectionHost.StartAsync(es => GuestDecider.Register(es.Events));
        var read = stranger.Services.GetRequiredService<IEventSerializer>().Deserialize(forwarded.EventType, forwarded.Data.Span);
        var registered = (GuestRegistered)read.Data;

        Assert.DoesNotContain(marker, body, StringComparison.Ordinal);
        Assert.DoesNotContain(PersonalDataProtector.GroupPrefix, body, StringComparison.Ordinal);       // no sealed group
        Assert.DoesNotContain(PersonalDataProtector.ReferencePrefix, body, StringComparison.Ordinal);   // no reference to one
        Assert.DoesNotContain(PersonalDataProtector.Prefix, body, StringComparison.Ordinal);            // no value of format 1
        Assert.Contains(PersonalDataProtector.ErasedMarker, body, StringComparison.Ordinal);
        Assert.True(read.PersonalDataErased);
        Assert.Equal(("[erased]", "(forgotten)", guest, 2), (registered.Name, registered.Email, registered.GuestId, registered.Seats));
        Assert.Null(registered.Phones);
    }

    [Fact]
    public async Task A_forwarder_without_a_transport_fails_the_start_saying_what_to_register()
    {
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => ProjectionHost.StartAsync(es =>
        {
            TallyDecider.Register(es.Events);
            es.AddForwarder();
        }));

        Assert.Contains("register an IEventTransport", Flatten(failure), StringComparison.Ordinal);
    }

    private static string Flatten(Exception exception) => exception.InnerException is { } inner ? $"{exception.Message} {Flatten(inner)}" : exception.Message;

    private static Task<ProjectionHost> StartAsync(RecordingTransport transport, Action<ForwarderOptions>? options = null, Action<global::EventSourcing.Hosting.EventSourcingBuilder>? configure = null) =>
        ProjectionHost.StartAsync(
            es =>
            {
                TallyDecider.Register(es.Events);
                configure?.Invoke(es);
                es.AddForwarder(o =>
                {
                    o.CheckpointInterval = TimeSpan.FromMilliseconds(50);
                    options?.Invoke(o);
                });
            },
            configureServices: services => services.AddSingleton<IEventTransport>(transport));

    /// <summary>Appends <paramref name="count"/> events over <paramref name="streams"/> streams, interleaved; returns them as stored.</summary>
    private static async Task<List<EventEnvelope>> AppendAsync(ProjectionHost host, int count, int streams)
    {
        var prefix = Guid.NewGuid().ToString("N")[..8];
        var first = await host.Store.ReadHeadPositionAsync(Ct);
        for (var i = 0; i < count; i++)
        {
            await host.Store.AppendAsync($"tally-{prefix}{i % streams}", ExpectedVersion.Any, [new TallyIncreased(1, i)], EventMetadata.Empty, Ct);
        }

        return await host.Store.ReadAllAsync(first + 1, Ct).ToListAsync(Ct);
    }

    private static Task UntilAsync(Func<bool> condition) => Eventually.UntilAsync(condition, "the condition", Patience);

    private static Task UntilAsync(Func<Task<bool>> condition) => Eventually.UntilAsync(condition, "the condition", Patience);
}
