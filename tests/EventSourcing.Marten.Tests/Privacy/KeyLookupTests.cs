using EventSourcing.Deciders;
using EventSourcing.Events;
using EventSourcing.Hosting;
using EventSourcing.Privacy;
using EventSourcing.Projections;
using EventSourcing.Tests.Shared.Postgres;
using EventSourcing.Testing.Contracts.Privacy;
using EventSourcing.Testing.Contracts.Projections;
using Microsoft.Extensions.DependencyInjection;

namespace EventSourcing.Marten.Tests.Privacy;

/// <summary>
/// Reads on PostgreSQL load the keys of the subjects they hold asynchronously, before the JSON is deserialized: a process
/// that has never seen a subject reads its view, its views in a query or a whole generation, its snapshot and its events
/// without one blocking key lookup (a converter would otherwise fetch a missing key with synchronous I/O).
/// </summary>
public sealed class KeyLookupTests(PostgresFixture postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string> Reads => ["view", "query", "all views", "snapshot", "events"];

    [Theory]
    [MemberData(nameof(Reads))]
    public async Task A_fresh_process_reads_a_subjects_data_without_a_blocking_key_lookup(string read)
    {
        var connectionString = await postgres.CreateDatabaseAsync("keylookups", Ct);
        var guest = Guid.NewGuid();
        var stream = GuestDecider.StreamOf(guest);
        await using (var writer = await StartAsync(connectionString, counter: null, startHostedServices: true))
        {
            var handler = writer.Services.GetRequiredService<DeciderHandler<GuestCommand, GuestEvent, GuestState?>>();
            await handler.HandleAsync(stream, new RegisterGuest(guest, "Ada Lovelace", "ada@example.com", ["+44 20 7946 0000"]), Ct);
            var last = await handler.HandleAsync(stream, new VisitGuest(guest, new DateOnly(2030, 1, 1)), Ct);
            await writer.WaitForAsync(last.Position, "guest-cards");
        }

        var counter = new CountingKeyStore.Counts();
        await using var reader = await StartAsync(connectionString, counter, startHostedServices: false);

        var name = read switch
        {
            "view" => (await reader.Views.FindAsync<GuestCard>(stream, Ct))?.Name,
            "query" => Assert.Single(await reader.Views.QueryAsync<GuestCard>(c => c.GuestId == guest, Ct)).Name,
            "all views" => Assert.IsType<GuestCard>(Assert.Single(await reader.ProjectionStore.ReadViewsAsync(
                "guest-cards", (await reader.ProjectionStore.ReadStateAsync("guest-cards", Ct)).ServingGeneration, Ct).ToListAsync(Ct)).View).Name,
            "snapshot" => (await reader.Services.GetRequiredService<ISnapshotStore>().LoadAsync<GuestState?>(stream, Ct))?.State?.Name,
            _ => Assert.IsType<GuestRegistered>((await reader.Store.ReadStreamAsync(stream, 1, Ct).FirstAsync(Ct)).Data).Name,
        };

        Assert.Equal("Ada Lovelace", name);
        Assert.Equal(0, counter.Blocking);
        Assert.True(counter.Asynchronous >= 1, $"{read}: no key was loaded at all");
    }

    [Fact]
    public async Task A_projection_that_reads_no_personal_data_is_rebuilt_by_a_fresh_process_without_loading_a_key()
    {
        var connectionString = await postgres.CreateDatabaseAsync("keylookups", Ct);
        var guest = Guid.NewGuid();
        await using (var writer = await StartAsync(connectionString, counter: null, startHostedServices: true))
        {
            var handler = writer.Services.GetRequiredService<DeciderHandler<GuestCommand, GuestEvent, GuestState?>>();
            await handler.HandleAsync(GuestDecider.StreamOf(guest), new RegisterGuest(guest, "Ada Lovelace", "ada@example.com", ["+44 20 7946 0000"]), Ct);
            var last = await handler.HandleAsync(GuestDecider.StreamOf(guest), new VisitGuest(guest, new DateOnly(2030, 1, 1)), Ct);
            await writer.WaitForAsync(last.Position, "guest-cards", "guest-visits");
        }

        var sealedRead = new CountingKeyStore.Counts();
        await using (var reader = await StartAsync(connectionString, sealedRead, startHostedServices: false))
        {
            await reader.Rebuilder.RebuildAsync("guest-visits", null, Ct);
            Assert.Equal(new GuestVisits(GuestDecider.StreamOf(guest), 1), await reader.Views.FindAsync<GuestVisits>(GuestDecider.StreamOf(guest), Ct));
        }

        var openRead = new CountingKeyStore.Counts();
        await using (var reader = await StartAsync(connectionString, openRead, startHostedServices: false))
        {
            await reader.Rebuilder.RebuildAsync("guest-cards", null, Ct);
        }

        Assert.Equal((0, 0), (sealedRead.Blocking, sealedRead.Asynchronous));
        Assert.Equal(0, openRead.Blocking);
        Assert.True(openRead.Asynchronous >= 1, "rebuilding the guest cards loaded no key: the comparison proves nothing");
    }

    private static Task<ProjectionHost> StartAsync(string connectionString, CountingKeyStore.Counts? counter, bool startHostedServices) =>
        ProjectionHost.StartAsync(
            es =>
            {
                GuestDecider.Register(es.Events);
                es.AddDecider(GuestDecider.Decider);
                es.AddProjection(new GuestCardProjection());
                es.AddProjection(new GuestVisitsProjection());
                es.ConfigureCommands(o => o.SnapshotEvery = 2);
                es.UseTestMarten(connectionString);
                if (counter is not null)
                {
                    CountingKeyStore.Wrap(es.Services, counter);
                }
            },
            startHostedServices);

    private sealed record GuestVisits(string Id, int Visits);

    /// <summary>Counts a guest's visits: it reads no personal data.</summary>
    private sealed class GuestVisitsProjection : Projection<GuestVisits>
    {
        public override string Name => "guest-visits";

        public override bool ReadsPersonalData => false;

        public override IEnumerable<string> ViewIds(EventEnvelope envelope) => envelope.Data is GuestEvent ? [envelope.StreamId] : [];

        public override GuestVisits? Evolve(string id, GuestVisits? view, EventEnvelope envelope) => envelope.Data switch
        {
            GuestRegistered => new GuestVisits(id, 0),
            GuestVisited when view is not null => view with { Visits = view.Visits + 1 },
            _ => view,
        };
    }

    /// <summary>Counts the key lookups of the key store it wraps: blocking ones (Find, GetOrCreate) and asynchronous ones.</summary>
    private sealed class CountingKeyStore(IKeyStore inner, CountingKeyStore.Counts counts) : IKeyStore
    {
        public sealed class Counts
        {
            private int _blocking;
            private int _asynchronous;

            public int Blocking => Volatile.Read(ref _blocking);

            public int Asynchronous => Volatile.Read(ref _asynchronous);

            public void CountBlocking() => Interlocked.Increment(ref _blocking);

            public void CountAsynchronous() => Interlocked.Increment(ref _asynchronous);
        }

        /// <summary>Replaces the key store registered last with this one around it.</summary>
        public static void Wrap(IServiceCollection services, Counts counts)
        {
            var registered = services.Last(d => d.ServiceType == typeof(IKeyStore));
            var factory = registered.ImplementationFactory ?? throw new InvalidOperationException("The key store is expected to be registered by a factory.");
            services.AddSingleton<IKeyStore>(provider => new CountingKeyStore((IKeyStore)factory(provider), counts));
        }

        public Task<byte[]?> FindAsync(string subjectId, CancellationToken cancellationToken = default)
        {
            counts.CountAsynchronous();
            return inner.FindAsync(subjectId, cancellationToken);
        }

        public byte[]? Find(string subjectId)
        {
            counts.CountBlocking();
            return inner.Find(subjectId);
        }

        public Task<byte[]> GetOrCreateAsync(string subjectId, CancellationToken cancellationToken = default)
        {
            counts.CountAsynchronous();
            return inner.GetOrCreateAsync(subjectId, cancellationToken);
        }

        public byte[] GetOrCreate(string subjectId)
        {
            counts.CountBlocking();
            return inner.GetOrCreate(subjectId);
        }

        public Task<bool> DeleteAsync(string subjectId, CancellationToken cancellationToken = default) => inner.DeleteAsync(subjectId, cancellationToken);

        public Task<int> RewrapAsync(MasterKey newMasterKey, CancellationToken cancellationToken = default) => inner.RewrapAsync(newMasterKey, cancellationToken);
    }
}
