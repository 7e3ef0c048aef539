using EventSourcing.Deciders;
using EventSourcing.Erasure;
using EventSourcing.Events;
using EventSourcing.Hosting;
using EventSourcing.Privacy;
using EventSourcing.Projections;
using EventSourcing.Storage;
using EventSourcing.Testing.Contracts.Projections;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EventSourcing.Testing.Contracts.Privacy;

/// <summary>Crypto-shredding on every store, written once: events, views and snapshots; forgetting; keys.</summary>
public abstract partial class PrivacyContract
{
    /// <summary>The running test's cancellation token.</summary>
    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Starts an application on the store under test with a fresh, empty log (and the extra services, if any).</summary>
    protected abstract Task<ProjectionHost> StartHostAsync(Action<EventSourcingBuilder> configure, Action<IServiceCollection>? services = null);

    /// <summary>Everything the store holds at rest (events, views, snapshots, keys), as text.</summary>
    protected abstract Task<string> ReadAtRestAsync(ProjectionHost host);

    private Task<ProjectionHost> StartAsync(Action<IServiceCollection>? services = null) => StartHostAsync(
        es =>
        {
            GuestDecider.Register(es.Events);
            es.AddDecider(GuestDecider.Decider);
            es.AddProjection(new GuestCardProjection());
            es.ConfigureCommands(o => o.SnapshotEvery = 2);
        },
        services);

    /// <summary>The guest decider's handler in <paramref name="host"/>.</summary>
    protected static DeciderHandler<GuestCommand, GuestEvent, GuestState?> Handler(ProjectionHost host) =>
        host.Services.GetRequiredService<DeciderHandler<GuestCommand, GuestEvent, GuestState?>>();

    /// <summary>Registers a guest whose values all contain <paramref name="marker"/>, and records two visits (a snapshot is kept at version 2).</summary>
    protected static async Task<long> RegisterAsync(ProjectionHost host, Guid guest, string marker)
    {
        var handler = Handler(host);
        await handler.HandleAsync(GuestDecider.StreamOf(guest), new RegisterGuest(guest, $"Ada {marker}", $"ada.{marker}@example.com", [$"+44 {marker}"]), Ct);
        await handler.HandleAsync(GuestDecider.StreamOf(guest), new VisitGuest(guest, new DateOnly(2030, 1, 1)), Ct);
        var last = await handler.HandleAsync(GuestDecider.StreamOf(guest), new VisitGuest(guest, new DateOnly(2030, 1, 2)), Ct);
        await host.WaitForAsync(last.Position, "guest-cards");
        return last.Position;
    }

    /// <summary>Events views and snapshots round trip and nothing personal is stored in plaintext.</summary>
    [Fact]
    public async Task Events_views_and_snapshots_round_trip_and_nothing_personal_is_stored_in_plaintext()
    {
        await using var host = await StartAsync();
        var guest = Guid.NewGuid();
        var marker = $"mk{Guid.NewGuid():N}";
        await RegisterAsync(host, guest, marker);

        var events = await host.Store.ReadStreamAsync(GuestDecider.StreamOf(guest), 1, Ct).ToListAsync(Ct);
        var registered = Assert.IsType<GuestRegistered>(events[0].Data);
        var card = await host.Views.FindAsync<GuestCard>(GuestDecider.StreamOf(guest), Ct);
        var snapshot = await host.Services.GetRequiredService<ISnapshotStore>().LoadAsync<GuestState?>(GuestDecider.StreamOf(guest), Ct);
        var atRest = await ReadAtRestAsync(host);

        Assert.Equal((guest, $"Ada {marker}", $"ada.{marker}@example.com"), (registered.GuestId, registered.Name, registered.Email));
        Assert.Equal([$"+44 {marker}"], registered.Phones);
        Assert.All(events, e => Assert.False(e.PersonalDataErased));
        Assert.Equal(new GuestCard(GuestDecider.StreamOf(guest), guest, $"Ada {marker}", $"ada.{marker}@example.com", [$"+44 {marker}"], 2).Name, card?.Name);
        Assert.Equal([$"+44 {marker}"], card!.Phones);
        Assert.False(card.Erased);
        Assert.Equal((guest, $"Ada {marker}", 1, 2L), (snapshot!.State!.GuestId, snapshot.State.Name, snapshot.State.Visits, snapshot.Version));
        Assert.Contains(PersonalDataProtector.Prefix, atRest, StringComparison.Ordinal);
        Assert.DoesNotContain(marker, atRest, StringComparison.Ordinal);
    }

    /// <summary>
    /// Each subject's personal values in an event are sealed together (format version 2): at rest, the registration holds
    /// one group of the guest's and a reference in place of each value (name, e-mail, phones).
    /// </summary>
    [Fact]
    public async Task Each_subject_s_personal_values_in_an_event_are_stored_as_one_sealed_group_with_a_reference_per_value()
    {
        await using var host = await StartAsync();
        var guest = Guid.NewGuid();
        await RegisterAsync(host, guest, "grouped");

        var atRest = await ReadAtRestAsync(host);

        var token = System.Buffers.Text.Base64Url.EncodeToString(System.Text.Encoding.UTF8.GetBytes(guest.ToString()));
        var groups = System.Text.RegularExpressions.Regex.Matches(atRest, System.Text.RegularExpressions.Regex.Escape($"{PersonalDataProtector.GroupPrefix}{token}:") + "[A-Za-z0-9_-]+:[A-Za-z0-9_-]+");
        var references = System.Text.RegularExpressions.Regex.Matches(atRest, System.Text.RegularExpressions.Regex.Escape(PersonalDataProtector.ReferencePrefix) + "[0-9]+:[0-9]+")
            .Select(m => m.Value[PersonalDataProtector.ReferencePrefix.Length..]).ToList();
        Assert.Single(groups); // the guest's name, e-mail and phones: one group, a key id, then the sealed values
        Assert.Equal(["0:0", "0:1", "0:2"], references.Order(StringComparer.Ordinal));
    }

    /// <summary>After forgetting every read shows placeholders and rebuilds and later commands succeed.</summary>
    [Fact]
    public async Task After_forgetting_every_read_shows_placeholders_and_rebuilds_and_later_commands_succeed()
    {
        await using var host = await StartAsync();
        var guest = Guid.NewGuid();
        var other = Guid.NewGuid();
        var marker = $"mk{Guid.NewGuid():N}";
        await RegisterAsync(host, guest, marker);
        await RegisterAsync(host, other, "kept");

        var audit = await host.Services.GetRequiredService<PersonalDataEraser>().ForgetAsync(guest.ToString(), Ct);
        var events = await host.Store.ReadStreamAsync(GuestDecider.StreamOf(guest), 1, Ct).ToListAsync(Ct);
        var registered = Assert.IsType<GuestRegistered>(events[0].Data);
        var storedCard = await host.Views.FindAsync<GuestCard>(GuestDecider.StreamOf(guest), Ct);
        var snapshot = await host.Services.GetRequiredService<ISnapshotStore>().LoadAsync<GuestState?>(GuestDecider.StreamOf(guest), Ct);
        var later = await Handler(host).HandleAsync(GuestDecider.StreamOf(guest), new VisitGuest(guest, new DateOnly(2030, 1, 3)), Ct);
        await host.WaitForAsync(later.Position, "guest-cards");
        var rebuilt = await host.Rebuilder.RebuildAsync("guest-cards", null, Ct);
        var card = await host.Views.FindAsync<GuestCard>(GuestDecider.StreamOf(guest), Ct);
        var keptCard = await host.Views.FindAsync<GuestCard>(GuestDecider.StreamOf(other), Ct);
        var newPersonalData = await Assert.ThrowsAnyAsync<Exception>(() =>
            host.Store.AppendAsync(GuestDecider.StreamOf(guest), ExpectedVersion.Any, [new GuestRenamed(guest, "Ada again")], EventMetadata.Empty, Ct));
        var auditEvent = await host.Store.ReadStreamAsync(PersonalDataEraser.AuditStream(guest.ToString()), 1, Ct).SingleAsync(Ct);

        Assert.Equal((guest, "[erased]", "(forgotten)"), (registered.GuestId, registered.Name, registered.Email));
        Assert.Null(registered.Phones);
        Assert.True(events[0].PersonalDataErased);
        Assert.False(events[1].PersonalDataErased);
        Assert.Equal(("[erased]", "(forgotten)", true), (storedCard!.Name, storedCard.Email, storedCard.Erased));
        Assert.Equal(("[erased]", 1, 2L), (snapshot!.State!.Name, snapshot.State.Visits, snapshot.Version));
        Assert.Equal(4, later.StreamVersion);
        Assert.True(rebuilt.Position >= later.Position);
        Assert.Equal(("[erased]", "(forgotten)", 3, true), (card!.Name, card.Email, card.Visits, card.Erased));
        Assert.Equal(("Ada kept", false), (keptCard!.Name, keptCard.Erased));
        Assert.IsType<SubjectForgottenException>(newPersonalData.GetBaseException());
        Assert.Equal(new PersonalDataForgotten(guest.ToString(), ((PersonalDataForgotten)auditEvent.Data).ForgottenAt, true), auditEvent.Data);
        Assert.Equal(audit.Position, auditEvent.Position);
        Assert.True((await host.Verifier.VerifyAsync("guest-cards", null, Ct)).Equal);
        Assert.DoesNotContain(marker, await ReadAtRestAsync(host), StringComparison.Ordinal);
    }

    /// <summary>No log line of the whole flow contains personal data.</summary>
    [Fact]
    public async Task No_log_line_of_the_whole_flow_contains_personal_data()
    {
        var logs = new LogCollector();
        await using (var host = await StartAsync(services => services.AddLogging(logging => logging.AddProvider(logs).SetMinimumLevel(Microsoft.Extensions.Logging.LogLevel.Trace))))
        {
            var guest = Guid.NewGuid();
            var marker = $"mk{Guid.NewGuid():N}";
            await RegisterAsync(host, guest, marker);
            await Assert.ThrowsAsync<DomainException>(() => Handler(host).HandleAsync(GuestDecider.StreamOf(guest), new RegisterGuest(guest, $"Ada {marker}", marker, []), Ct));
            await host.Services.GetRequiredService<PersonalDataEraser>().ForgetAsync(guest.ToString(), Ct);
            await host.Rebuilder.RebuildAsync("guest-cards", null, Ct);
            await host.Verifier.VerifyAsync("guest-cards", null, Ct);

            Assert.DoesNotContain(logs.Lines, line => line.Contains(marker, StringComparison.Ordinal));
        }

        Assert.Contains(logs.Lines, line => line.Contains("Forgot data subject", StringComparison.Ordinal));
    }

    /// <summary>Thirty two concurrent get or create calls for one subject get one key.</summary>
    [Fact]
    public async Task Thirty_two_concurrent_get_or_create_calls_for_one_subject_get_one_key()
    {
        await using var host = await StartAsync();
        var keys = host.Services.GetRequiredService<IKeyStore>();
        var subject = Guid.NewGuid().ToString();
        using var start = new ManualResetEventSlim();

        var calls = Enumerable.Range(0, 32).Select(_ => Task.Run(async () =>
        {
            start.Wait(Ct);
            return await keys.GetOrCreateAsync(subject, Ct);
        })).ToArray();
        start.Set();
        var results = await Task.WhenAll(calls);

        Assert.Single(results.Select(Convert.ToHexString).Distinct());
        Assert.Equal(32, results[0].Length);
        Assert.Equal(results[0], await keys.FindAsync(subject, Ct));
    }

    /// <summary>Keys rewrapped under a new master key still open the data.</summary>
    [Fact]
    public async Task Keys_rewrapped_under_a_new_master_key_still_open_the_data()
    {
        await using var host = await StartAsync();
        var guest = Guid.NewGuid();
        await RegisterAsync(host, guest, "rewrap");
        var keys = host.Services.GetRequiredService<IKeyStore>();
        var before = await keys.FindAsync(guest.ToString(), Ct);

        var rewrapped = await keys.RewrapAsync(MasterKey.Generate("next"), Ct);

        Assert.True(rewrapped >= 1);
        Assert.Equal(before, await keys.FindAsync(guest.ToString(), Ct));
#pragma warning disable VSTHRD103 // the synchronous lookup is part of the key store's contract
        Assert.Equal(before, keys.Find(guest.ToString()));
#pragma warning restore VSTHRD103
    }
}
