using System.Net;
using EventSourcing.Marten.Privacy;
using EventSourcing.Privacy;
using EventSourcing.Tests.Shared.Postgres;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.Guarantees;

/// <summary>
/// The tombstone of a forgotten guest is a row like any other: with every node stopped and a new one started on the
/// same database (cold caches, nothing heard of the forget), the guest still has no key and none can be created.
/// </summary>
[Collection(GuaranteesRunAlone.Name)]
public sealed class TombstoneRestartTests(PostgresFixture postgres)
{
    private const int GuestsWithData = 3;
    private const int GuestsNeverSeen = 2;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_guest_forgotten_before_every_node_stopped_stays_forgotten_on_a_node_started_afterwards()
    {
        await using var nodes = await new PostgresStore(postgres).StartNodesAsync(2, Guarantee.Setup);
        var guests = new List<(Guid GuestId, Placed? Placed)>();
        using (var a = nodes[0].CreateClient())
        using (var b = nodes[1].CreateClient())
        {
            foreach (var (body, placed) in await ForgetBoundTests.PlaceAndReadAsync(a, b, GuestsWithData))
            {
                guests.Add((body.GuestId, placed));
            }

            guests.AddRange(Enumerable.Range(0, GuestsNeverSeen).Select(_ => (Guid.NewGuid(), (Placed?)null))); // forgotten without ever having had data
            for (var i = 0; i < guests.Count; i++)
            {
                using var forget = await (i % 2 == 0 ? a : b).ForgetGuestAsync(guests[i].GuestId); // through either node
                Assert.Equal(HttpStatusCode.NoContent, forget.StatusCode);
            }
        }

        await nodes[1].DisposeAsync();
        await nodes[0].DisposeAsync(); // every node stopped; the database stays while the group holds it
        var fresh = await nodes.StartNodeAsync();
        using var c = fresh.CreateClient();
        var keys = fresh.Services.GetRequiredService<IKeyStore>();

        var (accepted, keysFound, keysCreated, readable, notTombstones) = (0, 0, 0, 0, 0);
        foreach (var (guestId, placed) in guests)
        {
            using (var again = await c.PlaceAsync(Bodies.Valid(Bodies.UniqueDay(), guestId: guestId, guestName: "Ada Again")))
            {
                var problem = await again.ReadProblemAsync(HttpStatusCode.Conflict);
                accepted += problem.GetProperty("title").GetString() == "Guest forgotten" ? 0 : 1;
            }

            keysFound += await keys.FindAsync(guestId.ToString(), Ct) is null ? 0 : 1;
            try
            {
                await keys.GetOrCreateAsync(guestId.ToString(), Ct);
                keysCreated++;
            }
            catch (SubjectForgottenException)
            {
                // the tombstone refuses a new key
            }

            if (placed is not null)
            {
                readable += PersonalValues.Readable(await c.GetReservationAsync(placed.Id)) + PersonalValues.Readable(await c.GetHistoryAsync(placed.Id));
            }

            notTombstones += await IsTombstoneAsync(nodes.ConnectionString, ((PostgresKeyStore)keys).SchemaName, guestId) ? 0 : 1;
        }

        Guarantee.Report($"{guests.Count} guests forgotten ({GuestsWithData} with reservations, {GuestsNeverSeen} never seen), all nodes stopped, a new node started on the same database");
        var broken = new Broken();
        broken.Add("reservations of forgotten guests not refused as 'Guest forgotten' (409) on the new node", accepted);
        broken.Add("forgotten guests with a key (FindAsync on the new node's key store)", keysFound);
        broken.Add("keys created for forgotten guests (GetOrCreateAsync on the new node's key store)", keysCreated);
        broken.Add("readable personal values (view and history) on the new node", readable);
        broken.Add("forgotten guests whose key row is not a tombstone (no key bytes, forgotten_at set)", notTombstones);
        broken.AssertNone();
    }

    private static async Task<bool> IsTombstoneAsync(string connectionString, string schema, Guid guestId)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(
            $"select count(*)::int from {schema}.{PostgresKeyStore.TableName} where subject_id = @subject and wrapped is null and master_key_id is null and forgotten_at is not null",
            connection);
        command.Parameters.AddWithValue("subject", guestId.ToString());
        return (int)(await command.ExecuteScalarAsync(Ct))! == 1;
    }
}
