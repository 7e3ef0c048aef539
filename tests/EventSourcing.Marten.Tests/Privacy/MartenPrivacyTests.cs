using EventSourcing.Erasure;
using EventSourcing.Hosting;
using EventSourcing.Privacy;
using EventSourcing.Tests.Shared.Postgres;
using EventSourcing.Testing.Contracts.Privacy;
using EventSourcing.Testing.Contracts.Projections;
using Marten;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace EventSourcing.Marten.Tests.Privacy;

/// <summary>The crypto-shredding contract on PostgreSQL, and the proof of erasure.</summary>
public sealed class MartenPrivacyTests(PostgresFixture postgres) : PrivacyContract
{
    private readonly Dictionary<ProjectionHost, string> _databases = [];

    protected override async Task<ProjectionHost> StartHostAsync(Action<EventSourcingBuilder> configure, Action<IServiceCollection>? services = null)
    {
        var connectionString = await postgres.CreateDatabaseAsync("privacy", Ct);
        var host = await ProjectionHost.StartAsync(
            es =>
            {
                configure(es);
                es.UseTestMarten(connectionString);
            },
            configureServices: services);
        _databases[host] = connectionString;
        return host;
    }

    protected override Task<string> ReadAtRestAsync(ProjectionHost host) => PostgresInspection.AllRowsAsTextAsync(_databases[host], Ct);

    [Fact]
    public async Task Proof_of_erasure_no_table_and_no_dump_holds_a_marker_and_the_key_is_gone_from_disk_after_vacuum()
    {
        await using var host = await StartHostAsync(es =>
        {
            GuestDecider.Register(es.Events);
            es.AddDecider(GuestDecider.Decider);
            es.AddProjection(new GuestCardProjection());
            es.ConfigureCommands(o => o.SnapshotEvery = 2);
        });
        var connectionString = _databases[host];
        var guest = Guid.NewGuid();
        var markers = new[] { $"name{Guid.NewGuid():N}", $"mail{Guid.NewGuid():N}", $"phone{Guid.NewGuid():N}" };
        var handler = Handler(host);
        await handler.HandleAsync(GuestDecider.StreamOf(guest), new RegisterGuest(guest, markers[0], $"{markers[1]}@example.com", [markers[2]]), Ct);
        var last = await handler.HandleAsync(GuestDecider.StreamOf(guest), new VisitGuest(guest, new DateOnly(2030, 5, 1)), Ct);
        await host.WaitForAsync(last.Position, "guest-cards");

        var rows = await PostgresInspection.AllRowsAsTextAsync(connectionString, Ct);
        var dump = await PostgresInspection.PgDumpAsync(connectionString, Ct);
        var wrappedKey = await WrappedKeyAsync(connectionString, guest);
        var tuplesBefore = await PostgresInspection.HeapTuplesAsync(connectionString, "es_subject_keys", Ct);

        await host.Services.GetRequiredService<PersonalDataEraser>().ForgetAsync(guest.ToString(), Ct);
        var card = await host.Views.FindAsync<GuestCard>(GuestDecider.StreamOf(guest), Ct);
        var rebuilt = await host.Rebuilder.RebuildAsync("guest-cards", null, Ct);
        var tuplesAfterDelete = await PostgresInspection.HeapTuplesAsync(connectionString, "es_subject_keys", Ct);
        await using (var connection = new NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync(Ct);
            await using var vacuum = new NpgsqlCommand("vacuum es_subject_keys", connection);
            await vacuum.ExecuteNonQueryAsync(Ct);
        }

        var tuplesAfterVacuum = await PostgresInspection.HeapTuplesAsync(connectionString, "es_subject_keys", Ct);

        Assert.All(markers, marker => Assert.DoesNotContain(marker, rows, StringComparison.Ordinal));
        Assert.All(markers, marker => Assert.DoesNotContain(marker, dump, StringComparison.Ordinal));
        Assert.Contains(PersonalDataProtector.Prefix, dump, StringComparison.Ordinal);
        Assert.Contains(tuplesBefore, tuple => Contains(tuple, wrappedKey));
        Assert.Contains(tuplesAfterDelete, tuple => Contains(tuple, wrappedKey)); // emptied but its old row version still on disk until VACUUM
        Assert.DoesNotContain(tuplesAfterVacuum, tuple => Contains(tuple, wrappedKey));
        Assert.Equal(("[erased]", true), (card!.Name, card.Erased));
        Assert.True(rebuilt.Position >= last.Position);
        Assert.Null(await host.Services.GetRequiredService<IKeyStore>().FindAsync(guest.ToString(), Ct));
    }

    [Fact]
    public async Task Marten_s_own_event_loading_reads_each_sealed_reference_as_erased_never_the_value()
    {
        await using var host = await StartHostAsync(es =>
        {
            GuestDecider.Register(es.Events);
            es.AddDecider(GuestDecider.Decider);
        });
        var guest = Guid.NewGuid();
        var marker = Guid.NewGuid().ToString("N");
        await Handler(host).HandleAsync(GuestDecider.StreamOf(guest), new RegisterGuest(guest, $"Ada {marker}", $"ada.{marker}@example.com", [$"+44 {marker}"]), Ct);

        var read = await host.Store.ReadStreamAsync(GuestDecider.StreamOf(guest), 1, Ct).ToListAsync(Ct);
        await using var session = host.Services.GetRequiredService<IDocumentStore>().QuerySession();
        var loaded = await session.Events.FetchStreamAsync(GuestDecider.StreamOf(guest), token: Ct);

        Assert.Equal($"Ada {marker}", Assert.IsType<GuestRegistered>(Assert.Single(read).Data).Name);
        var raw = Assert.IsType<GuestRegistered>(Assert.Single(loaded).Data);
        Assert.Equal(("[erased]", "(forgotten)"), (raw.Name, raw.Email)); // as erased: the placeholder, or the field's replacement
        Assert.Equal(guest, raw.GuestId);
    }

    private static async Task<byte[]> WrappedKeyAsync(string connectionString, Guid guest)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand("select wrapped from es_subject_keys where subject_id = @subject", connection);
        command.Parameters.AddWithValue("subject", guest.ToString());
        return (byte[])(await command.ExecuteScalarAsync(Ct))!;
    }

    private static bool Contains(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle) >= 0;
}
