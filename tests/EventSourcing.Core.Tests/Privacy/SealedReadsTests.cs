using System.Collections.Concurrent;
using EventSourcing.Deciders;
using EventSourcing.Events;
using EventSourcing.Hosting;
using EventSourcing.Privacy;
using EventSourcing.Projections;
using EventSourcing.Testing.Contracts.Privacy;
using EventSourcing.Testing.Contracts.Projections;
using Microsoft.Extensions.DependencyInjection;

namespace EventSourcing.Core.Tests.Privacy;

/// <summary>
/// A projection that says it reads no personal data gets its events with personal values sealed (placeholders, nothing
/// decrypted), following the log and when rebuilt; one that reads them gets them; one that says so but keeps personal
/// fields in its views is refused at start-up.
/// </summary>
public sealed class SealedReadsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Events_reach_a_projection_sealed_exactly_when_it_reads_no_personal_data(bool readsPersonalData)
    {
        var projection = new VisitCounts(readsPersonalData);
        await using var host = await ProjectionHost.StartAsync(es =>
        {
            GuestDecider.Register(es.Events);
            es.AddDecider(GuestDecider.Decider);
            es.AddProjection(projection, ProjectionLifecycle.Async);
        });
        var handler = host.Services.GetRequiredService<DeciderHandler<GuestCommand, GuestEvent, GuestState?>>();
        var guest = Guid.NewGuid();
        await handler.HandleAsync(GuestDecider.StreamOf(guest), new RegisterGuest(guest, "Ada Lovelace", "ada@example.com", ["+44 20 7946 0000"]), Ct);
        var last = await handler.HandleAsync(GuestDecider.StreamOf(guest), new VisitGuest(guest, new DateOnly(2030, 1, 1)), Ct);
        await host.WaitForAsync(last.Position, projection.Name);
        var followed = projection.NamesSeen.ToArray();
        projection.NamesSeen.Clear();

        await host.Rebuilder.RebuildAsync(projection.Name, null, Ct);
        var rebuilt = projection.NamesSeen.ToArray();

        var placeholder = host.Services.GetRequiredService<PersonalDataProtector>().Placeholder;
        var expected = readsPersonalData ? "Ada Lovelace" : placeholder;
        Assert.Equal([expected], followed);
        Assert.Equal([expected], rebuilt);
        Assert.Equal(new GuestVisitCount(GuestDecider.StreamOf(guest), 1), await host.Views.FindAsync<GuestVisitCount>(GuestDecider.StreamOf(guest), Ct));
    }

    [Fact]
    public async Task A_projection_that_reads_no_personal_data_but_keeps_personal_fields_is_refused_at_start_up()
    {
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => ProjectionHost.StartAsync(es =>
        {
            GuestDecider.Register(es.Events);
            es.AddProjection(new SealedGuestCards(), ProjectionLifecycle.Async);
        }));

        Assert.Contains("sealed-guest-cards", refused.Message, StringComparison.Ordinal);
        Assert.Contains("GuestCard.Name", refused.Message, StringComparison.Ordinal);
        Assert.Contains("GuestCard.Email", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_sealed_read_ends_with_its_scope_and_does_not_reach_other_flows()
    {
        var projection = new VisitCounts(readsPersonalData: false);
        var outside = Task.Run(async () =>
        {
            await Task.Yield();
            return SealedReadsActive();
        }, Ct);

        using (ProjectionApplier.BeginEventRead(projection))
        {
            Assert.True(SealedReadsActive());
            Assert.True(await Task.Run(SealedReadsActive, Ct)); // flows into the tasks the reader starts
        }

        Assert.False(SealedReadsActive());
        Assert.False(await outside);
        using (ProjectionApplier.BeginEventRead(new VisitCounts(readsPersonalData: true)))
        {
            Assert.False(SealedReadsActive());
        }
    }

    private static bool SealedReadsActive() => SealedReads.IsActive;

    private sealed record GuestVisitCount(string Id, int Visits);

    /// <summary>Counts visits per guest, and records the names its events carried (what it was given to read).</summary>
    private sealed class VisitCounts(bool readsPersonalData) : Projection<GuestVisitCount>
    {
        public ConcurrentQueue<string> NamesSeen { get; } = new();

        public override string Name => "visit-counts";

        public override bool ReadsPersonalData => readsPersonalData;

        public override IEnumerable<string> ViewIds(EventEnvelope envelope) => envelope.Data is GuestEvent ? [envelope.StreamId] : [];

        public override GuestVisitCount? Evolve(string id, GuestVisitCount? view, EventEnvelope envelope)
        {
            switch (envelope.Data)
            {
                case GuestRegistered registered:
                    NamesSeen.Enqueue(registered.Name);
                    return new GuestVisitCount(id, 0);
                case GuestVisited when view is not null:
                    return view with { Visits = view.Visits + 1 };
                default:
                    return view;
            }
        }
    }

    /// <summary>Says it reads no personal data, yet its views are guest cards (a name, an e-mail, phones).</summary>
    private sealed class SealedGuestCards : Projection<GuestCard>
    {
        private readonly GuestCardProjection _cards = new();

        public override string Name => "sealed-guest-cards";

        public override bool ReadsPersonalData => false;

        public override IEnumerable<string> ViewIds(EventEnvelope envelope) => _cards.ViewIds(envelope);

        public override GuestCard? Evolve(string id, GuestCard? view, EventEnvelope envelope) => _cards.Evolve(id, view, envelope);
    }
}
