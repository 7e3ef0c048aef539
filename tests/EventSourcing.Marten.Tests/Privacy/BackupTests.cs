using EventSourcing.Erasure;
using System.Security.Cryptography;
using EventSourcing.Deciders;
using EventSourcing.Marten.Hosting;
using EventSourcing.Marten.Privacy;
using EventSourcing.Privacy;
using EventSourcing.Tests.Shared.Postgres;
using EventSourcing.Testing.Contracts.Privacy;
using EventSourcing.Testing.Contracts.Projections;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace EventSourcing.Marten.Tests.Privacy;

/// <summary>
/// docs/privacy.md, "Backups and dumps": what a <c>pg_dump</c> taken before or after a forget still reveals once restored
/// into a fresh database and read by an application with the master key, with the keys in the events' database and in
/// a database of their own; and that rotating the master key and destroying the old one ends it for older backups.
/// </summary>
public sealed class BackupTests(PostgresFixture postgres)
{
    /// <summary>What reads back as erased, value by value (see <see cref="GuestRead.Values"/>).</summary>
    private static readonly IReadOnlyList<string?> Placeholders = ["[erased]", "(forgotten)", null, "[erased]", "(forgotten)", null, "[erased]"];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Keys_in_the_events_database_a_dump_before_the_forget_reveals_the_subject_one_after_holds_only_a_tombstone()
    {
        var master = Master.New("m1");
        var live = await postgres.CreateDatabaseAsync("backup_live", Ct);
        var (forgotten, kept) = (Guest.New(), Guest.New());
        string before, after;
        byte[] forgottenKey, keptKey;
        await using (var host = await StartAsync(master, live, keys: null))
        {
            await RegisterAsync(host, forgotten, kept);
            (forgottenKey, keptKey) = (await WrappedKeyAsync(live, forgotten), await WrappedKeyAsync(live, kept));
            before = await PostgresInspection.PgDumpAsync(live, Ct);
            await ForgetAsync(host, forgotten);
            after = await PostgresInspection.PgDumpAsync(live, Ct);
        }

        // Still on disk after that dump: the emptied row's old version, which only VACUUM removes.
        var heap = await PostgresInspection.HeapTuplesAsync(live, PostgresKeyStore.TableName, Ct);

        GuestRead fromBefore, fromAfter, keptFromAfter;
        await using (var restored = await RestoreAsync(master, before, keysDump: null))
        {
            fromBefore = await ReadAsync(restored, forgotten);
        }

        await using (var restored = await RestoreAsync(master, after, keysDump: null))
        {
            (fromAfter, keptFromAfter) = (await ReadAsync(restored, forgotten), await ReadAsync(restored, kept));
        }

        AssertReadable(fromBefore, forgotten);
        AssertErased(fromAfter, forgotten);
        AssertReadable(keptFromAfter, kept); // the restore works: only the forget erased
        Assert.True(Dump.Holds(before, forgottenKey), "the dump before the forget holds the subject's wrapped key");
        Assert.False(Dump.Holds(after, forgottenKey), "the dump after the forget holds the subject's wrapped key");
        Assert.Contains(heap, tuple => tuple.AsSpan().IndexOf(forgottenKey) >= 0);
        Assert.True(Dump.Holds(after, keptKey), "the dump after the forget lost the other subject's wrapped key");
        Assert.Equal(Dump.Tombstone, Dump.KeyRow(after, forgotten));
        Assert.All(new[] { before, after, await PostgresInspection.AllRowsAsTextAsync(live, Ct) }, text => AssertNoMarker(text, forgotten, kept));
    }

    [Fact]
    public async Task Keys_in_a_database_of_their_own_only_the_keys_dump_before_the_forget_reveals_the_subject()
    {
        var master = Master.New("m1");
        var (events, keys) = (await postgres.CreateDatabaseAsync("backup_events", Ct), await postgres.CreateDatabaseAsync("backup_keys", Ct));
        var (forgotten, kept) = (Guest.New(), Guest.New());
        string eventsBefore, keysBefore, eventsAfter, keysAfter;
        byte[] forgottenKey, keptKey;
        await using (var host = await StartAsync(master, events, keys))
        {
            await RegisterAsync(host, forgotten, kept);
            (forgottenKey, keptKey) = (await WrappedKeyAsync(keys, forgotten), await WrappedKeyAsync(keys, kept));
            (eventsBefore, keysBefore) = (await PostgresInspection.PgDumpAsync(events, Ct), await PostgresInspection.PgDumpAsync(keys, Ct));
            await ForgetAsync(host, forgotten);
            (eventsAfter, keysAfter) = (await PostgresInspection.PgDumpAsync(events, Ct), await PostgresInspection.PgDumpAsync(keys, Ct));
        }

        GuestRead eventsAlone, keptEventsAlone, oldKeysNewEvents, oldKeysOldEvents, newKeys, keptNewKeys;
        await using (var restored = await RestoreAsync(master, eventsBefore, keysDump: string.Empty))
        {
            (eventsAlone, keptEventsAlone) = (await ReadAsync(restored, forgotten), await ReadAsync(restored, kept));
        }

        await using (var restored = await RestoreAsync(master, eventsAfter, keysBefore))
        {
            oldKeysNewEvents = await ReadAsync(restored, forgotten);
        }

        await using (var restored = await RestoreAsync(master, eventsBefore, keysBefore))
        {
            oldKeysOldEvents = await ReadAsync(restored, forgotten);
        }

        await using (var restored = await RestoreAsync(master, eventsBefore, keysAfter))
        {
            (newKeys, keptNewKeys) = (await ReadAsync(restored, forgotten), await ReadAsync(restored, kept));
        }

        Assert.DoesNotContain($"public.{PostgresKeyStore.TableName}", eventsBefore, StringComparison.Ordinal); // no key table in the events' database at all
        Assert.False(Dump.Holds(eventsBefore, forgottenKey) || Dump.Holds(eventsBefore, keptKey), "the events' dump holds a wrapped key");
        AssertErased(eventsAlone, forgotten);
        AssertErased(keptEventsAlone, kept);
        Assert.True(Dump.Holds(keysBefore, forgottenKey), "the keys' dump before the forget holds the subject's wrapped key");
        AssertReadable(oldKeysNewEvents, forgotten);
        AssertReadable(oldKeysOldEvents, forgotten);
        Assert.False(Dump.Holds(keysAfter, forgottenKey), "the keys' dump after the forget holds the subject's wrapped key");
        Assert.Equal(Dump.Tombstone, Dump.KeyRow(keysAfter, forgotten));
        AssertErased(newKeys, forgotten);
        AssertReadable(keptNewKeys, kept); // the restore works: only the forget erased
        Assert.All(new[] { eventsBefore, eventsAfter, keysBefore, keysAfter, await PostgresInspection.AllRowsAsTextAsync(events, Ct) }, text => AssertNoMarker(text, forgotten, kept));
    }

    [Fact]
    public async Task Rotating_the_master_key_and_destroying_the_old_one_leaves_an_older_keys_dump_unreadable()
    {
        var (m1, m2) = (Master.New("m1"), Master.New("m2"));
        var (events, keys) = (await postgres.CreateDatabaseAsync("rotation_events", Ct), await postgres.CreateDatabaseAsync("rotation_keys", Ct));
        var (forgotten, kept) = (Guest.New(), Guest.New());
        string eventsAfter, keysBefore;
        int rewrapped;
        await using (var host = await StartAsync(m1, events, keys))
        {
            await RegisterAsync(host, forgotten, kept);
            keysBefore = await PostgresInspection.PgDumpAsync(keys, Ct);
            await ForgetAsync(host, forgotten);
            eventsAfter = await PostgresInspection.PgDumpAsync(events, Ct);
            rewrapped = await host.Services.GetRequiredService<IKeyStore>().RewrapAsync(m2.Key, Ct);
        }

        // The same copies, read with the old master key: everything of both subjects (what destroying m1 takes away).
        GuestRead withOldKey;
        await using (var restored = await RestoreAsync(m1, eventsAfter, keysBefore))
        {
            withOldKey = await ReadAsync(restored, forgotten);
        }

        // m1 destroyed: only m2 is configured, under its own name, or under the old name (the key replaced, its name kept).
        var withNewKey = new List<Exception>();
        await using (var restored = await RestoreAsync(m2, eventsAfter, keysBefore))
        {
            foreach (var read in Reads(restored, forgotten).Concat(Reads(restored, kept)))
            {
                withNewKey.Add(await Assert.ThrowsAnyAsync<Exception>(read));
            }
        }

        var withNewKeyOldName = new List<Exception>();
        await using (var restored = await RestoreAsync(m2 with { Id = m1.Id }, eventsAfter, keysBefore))
        {
            foreach (var read in Reads(restored, forgotten))
            {
                withNewKeyOldName.Add(await Assert.ThrowsAnyAsync<Exception>(read));
            }
        }

        GuestRead liveKept, liveForgotten;
        await using (var host = await StartAsync(m2, events, keys))
        {
            (liveKept, liveForgotten) = (await ReadAsync(host, kept), await ReadAsync(host, forgotten));
        }

        Assert.Equal(1, rewrapped); // the kept subject's key; the tombstone has none
        AssertReadable(withOldKey, forgotten);
        Assert.Equal(6, withNewKey.Count); // event, card and snapshot of each guest: every read fails, none shows a value
        Assert.All(withNewKey, error =>
        {
            var cause = Assert.IsType<CryptographicException>(Cause(error));
            Assert.Contains("wrapped by master key 'm1', not the configured 'm2'", cause.Message, StringComparison.Ordinal);
        });
        Assert.Equal(3, withNewKeyOldName.Count);
        Assert.All(withNewKeyOldName, error => Assert.IsType<AuthenticationTagMismatchException>(Cause(error))); // the old key's bytes are what unwraps
        Assert.All(withNewKey.Concat(withNewKeyOldName), error => AssertNoMarker(error.ToString(), forgotten, kept));
        AssertReadable(liveKept, kept);
        AssertErased(liveForgotten, forgotten);
        Assert.All(new[] { eventsAfter, keysBefore, await PostgresInspection.AllRowsAsTextAsync(events, Ct) }, text => AssertNoMarker(text, forgotten, kept));
    }

    private static Task<ProjectionHost> StartAsync(Master master, string events, string? keys) => ProjectionHost.StartAsync(es =>
    {
        GuestDecider.Register(es.Events);
        es.AddDecider(GuestDecider.Decider);
        es.AddProjection(new GuestCardProjection());
        es.ConfigureCommands(o => o.SnapshotEvery = 2);
        es.ConfigurePersonalData(o => (o.MasterKey, o.MasterKeyId) = (master.Base64, master.Id));
        es.UseTestMarten(events);
        if (keys is not null)
        {
            es.UseKeyDatabase(keys);
        }
    });

    /// <summary>
    /// Restores the events' dump into a fresh database, and with <paramref name="keysDump"/> (empty: none, an empty key
    /// database) the keys' dump into another, then starts an application on them with <paramref name="master"/>.
    /// </summary>
    private async Task<ProjectionHost> RestoreAsync(Master master, string eventsDump, string? keysDump)
    {
        var events = await postgres.CreateDatabaseAsync("restored_events", Ct);
        await PostgresInspection.RestoreAsync(eventsDump, events, Ct);
        string? keys = null;
        if (keysDump is not null)
        {
            keys = await postgres.CreateDatabaseAsync("restored_keys", Ct);
            if (keysDump.Length > 0)
            {
                await PostgresInspection.RestoreAsync(keysDump, keys, Ct);
            }
        }

        return await StartAsync(master, events, keys);
    }

    /// <summary>Registers each guest and records two visits (a snapshot is kept at version 2), until the cards show them.</summary>
    private static async Task RegisterAsync(ProjectionHost host, params Guest[] guests)
    {
        var handler = host.Services.GetRequiredService<DeciderHandler<GuestCommand, GuestEvent, GuestState?>>();
        var last = 0L;
        foreach (var guest in guests)
        {
            var stream = GuestDecider.StreamOf(guest.Id);
            await handler.HandleAsync(stream, new RegisterGuest(guest.Id, guest.Name, guest.Email, [guest.Phone]), Ct);
            await handler.HandleAsync(stream, new VisitGuest(guest.Id, new DateOnly(2030, 1, 1)), Ct);
            last = (await handler.HandleAsync(stream, new VisitGuest(guest.Id, new DateOnly(2030, 1, 2)), Ct)).Position;
        }

        await host.WaitForAsync(last, "guest-cards");
    }

    private static async Task ForgetAsync(ProjectionHost host, Guest guest) =>
        await host.Services.GetRequiredService<PersonalDataEraser>().ForgetAsync(guest.Id.ToString(), Ct);

    /// <summary>The guest's personal values as the application reads them: in the registration event, the card view and the snapshot.</summary>
    private static async Task<GuestRead> ReadAsync(ProjectionHost host, Guest guest)
    {
        var (registered, card, snapshot) = (await ReadEventAsync(host, guest), await ReadCardAsync(host, guest), await ReadSnapshotAsync(host, guest));
        return new GuestRead(
            [registered.Data.Name, registered.Data.Email, Phones(registered.Data.Phones), card.Name, card.Email, Phones(card.Phones), snapshot.Name],
            registered.Erased && card.Erased);
    }

    /// <summary>Each of the guest's reads, one by one: the registration event, the card view, the snapshot.</summary>
    private static Func<Task>[] Reads(ProjectionHost host, Guest guest) =>
        [() => ReadEventAsync(host, guest), () => ReadCardAsync(host, guest), () => ReadSnapshotAsync(host, guest)];

    private static async Task<(GuestRegistered Data, bool Erased)> ReadEventAsync(ProjectionHost host, Guest guest)
    {
        var first = await host.Store.ReadStreamAsync(GuestDecider.StreamOf(guest.Id), 1, Ct).FirstAsync(Ct);
        return (Assert.IsType<GuestRegistered>(first.Data), first.PersonalDataErased);
    }

    private static async Task<GuestCard> ReadCardAsync(ProjectionHost host, Guest guest) =>
        Assert.IsType<GuestCard>(await host.Views.FindAsync<GuestCard>(GuestDecider.StreamOf(guest.Id), Ct));

    private static async Task<GuestState> ReadSnapshotAsync(ProjectionHost host, Guest guest) =>
        Assert.IsType<GuestState>((await host.Services.GetRequiredService<ISnapshotStore>().LoadAsync<GuestState?>(GuestDecider.StreamOf(guest.Id), Ct))?.State);

    private static string? Phones(string[]? phones) => phones is null ? null : string.Join(',', phones);

    private static async Task<byte[]> WrappedKeyAsync(string connectionString, Guest guest)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand("select wrapped from es_subject_keys where subject_id = @subject", connection);
        command.Parameters.AddWithValue("subject", guest.Id.ToString());
        var wrapped = Assert.IsType<byte[]>(await command.ExecuteScalarAsync(Ct));
        Assert.Equal(12 + 16 + 32, wrapped.Length);
        return wrapped;
    }

    /// <summary>Every personal value of the guest was read back.</summary>
    private static void AssertReadable(GuestRead read, Guest guest)
    {
        Assert.Equal<string?>([guest.Name, guest.Email, guest.Phone, guest.Name, guest.Email, guest.Phone, guest.Name], read.Values);
        Assert.False(read.Erased);
    }

    /// <summary>None of the guest's personal values was read back: each reads as its placeholder, and the reads say so.</summary>
    private static void AssertErased(GuestRead read, Guest guest)
    {
        Assert.Equal(0, read.Readable(guest));
        Assert.Equal(Placeholders, read.Values);
        Assert.True(read.Erased);
    }

    private static void AssertNoMarker(string text, params Guest[] guests) =>
        Assert.All(guests.SelectMany(g => g.Markers), marker => Assert.DoesNotContain(marker, text, StringComparison.Ordinal));

    /// <summary>The innermost exception: what failed, under whatever wrapped it on the way out.</summary>
    private static Exception Cause(Exception error) => error.GetBaseException();

    /// <summary>A master key, as configured (<see cref="PersonalDataOptions.MasterKey"/> and <see cref="PersonalDataOptions.MasterKeyId"/>).</summary>
    private sealed record Master(string Id, string Base64)
    {
        public MasterKey Key => MasterKey.FromBase64(Id, Base64);

        public static Master New(string id) => new(id, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
    }

    /// <summary>A guest whose every personal value holds a marker of its own, found nowhere else.</summary>
    private sealed record Guest(Guid Id, string Name, string Email, string Phone)
    {
        public string[] Markers => [Name, Email, Phone];

        public static Guest New() => new(Guid.NewGuid(), $"name{Guid.NewGuid():N}", $"mail{Guid.NewGuid():N}@example.com", $"phone{Guid.NewGuid():N}");
    }

    /// <summary>
    /// A guest's personal values as read: the registration's name, e-mail and phones, the card's three, the snapshot's
    /// name; and whether the event and the card said they were erased.
    /// </summary>
    private sealed record GuestRead(IReadOnlyList<string?> Values, bool Erased)
    {
        public int Readable(Guest guest) => Values.Count(value => value is not null && guest.Markers.Any(marker => value.Contains(marker, StringComparison.Ordinal)));
    }

    /// <summary>What a plain-format dump holds of the key table.</summary>
    private static class Dump
    {
        /// <summary>A forgotten subject's row: no wrapped key, no master key name (COPY's null is <c>\N</c>).</summary>
        public static readonly (string Wrapped, string MasterKeyId) Tombstone = (@"\N", @"\N");

        /// <summary>Whether the dump holds <paramref name="wrapped"/> (bytea is dumped as hex).</summary>
        public static bool Holds(string dump, byte[] wrapped) => dump.Contains(Convert.ToHexStringLower(wrapped), StringComparison.Ordinal);

        /// <summary>The rows of the key table's data in the dump (none when it has no such table), by subject.</summary>
        public static Dictionary<string, (string Wrapped, string MasterKeyId)> KeyRows(string dump)
        {
            var rows = new Dictionary<string, (string, string)>(StringComparer.Ordinal);
            var lines = dump.Split('\n');
            var copy = Array.FindIndex(lines, line => line.StartsWith($"COPY public.{PostgresKeyStore.TableName} (subject_id, wrapped, master_key_id,", StringComparison.Ordinal));
            if (copy < 0)
            {
                return rows;
            }

            foreach (var line in lines.Skip(copy + 1).TakeWhile(line => line != @"\."))
            {
                var columns = line.Split('\t');
                rows.Add(columns[0], (columns[1], columns[2]));
            }

            return rows;
        }

        public static (string Wrapped, string MasterKeyId)? KeyRow(string dump, Guest guest) =>
            KeyRows(dump).TryGetValue(guest.Id.ToString(), out var row) ? row : null;
    }
}
