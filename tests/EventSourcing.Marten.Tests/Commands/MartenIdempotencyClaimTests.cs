using EventSourcing.Commands;
using EventSourcing.Marten.Tests.Hosting;
using EventSourcing.Tests.Shared.Postgres;
using EventSourcing.Testing.Contracts.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace EventSourcing.Marten.Tests.Commands;

/// <summary>
/// Claims of idempotency keys on PostgreSQL, between two nodes: a held claim keeps the other node waiting, a node whose
/// claim's connection dies lets go of it at once, and the end of the retention drops the result but not the binding.
/// </summary>
public sealed class MartenIdempotencyClaimTests(PostgresFixture postgres)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_claim_held_on_one_node_keeps_the_other_waiting_and_a_claim_whose_connection_dies_is_let_go_at_once()
    {
        await using var nodes = await MartenNodes.StartAsync(await postgres.CreateDatabaseAsync("claims", Ct), es => ContractEvents.Registry(es.Events));
        var id = Guid.NewGuid();
        var onA = nodes.A.Services.GetRequiredService<IIdempotencyStore>();
        var onB = nodes.B.Services.GetRequiredService<IIdempotencyStore>();

        // A completes a claim; B, waiting meanwhile, gets the result.
        var first = await onA.ClaimAsync(Request(id, "fingerprint-1"), Ct);
        var waiting = onB.ClaimAsync(Request(id, "fingerprint-2"), Ct);
        var waitedWhileHeld = !await Completes(waiting, TimeSpan.FromMilliseconds(500));
        await first.CompleteAsync("\"result-1\"", Ct);
        await first.DisposeAsync();
        await using (var second = await waiting.WaitAsync(Patience, Ct))
        {
            Assert.Equal(("fingerprint-1", "\"result-1\""), (second.Kept?.Fingerprint, second.Kept?.Response));
        }

        // A claims another id and its connection dies mid-command (the process killed): B takes it over at once.
        var other = Guid.NewGuid();
        var abandoned = await onA.ClaimAsync(Request(other, "fingerprint-3"), Ct);
        var takeover = onB.ClaimAsync(Request(other, "fingerprint-3"), Ct);
        var waitedForTheLiving = !await Completes(takeover, TimeSpan.FromMilliseconds(500));
        var terminated = await TerminateClaimHoldersAsync(nodes.ConnectionString, nodes.A.ApplicationName);
        await using (var taken = await takeover.WaitAsync(Patience, Ct))
        {
            Assert.True(waitedWhileHeld && waitedForTheLiving, "a claim held by a live node did not keep the other waiting");
            Assert.True(terminated >= 1, "no claim connection of node A was found");
            Assert.Equal(("fingerprint-3", null), (taken.Kept?.Fingerprint, taken.Kept?.Response)); // pending: bound to its payload, run again
        }

        await abandoned.DisposeAsync(); // its connection is gone: letting go must not throw
    }

    [Fact]
    public async Task Past_the_retention_the_result_is_gone_but_the_payload_still_binds_the_key_on_every_node()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var nodes = await MartenNodes.StartAsync(
            await postgres.CreateDatabaseAsync("claims_retention", Ct),
            es => ContractEvents.Registry(es.Events),
            services =>
            {
                services.AddSingleton<TimeProvider>(time);
                services.Configure<IdempotencyOptions>(options => options.Retention = TimeSpan.FromHours(1));
            });
        var id = Guid.NewGuid();
        var onA = nodes.A.Services.GetRequiredService<IIdempotencyStore>();
        var onB = nodes.B.Services.GetRequiredService<IIdempotencyStore>();
        await using (var claim = await onA.ClaimAsync(Request(id, "fingerprint-1", time), Ct))
        {
            await claim.CompleteAsync("\"result-1\"", Ct);
        }

        time.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
        IdempotencyRecord? other, same;
        await using (var claim = await onB.ClaimAsync(Request(id, "fingerprint-2", time), Ct))
        {
            other = claim.Kept;
        }

        await using (var claim = await onB.ClaimAsync(Request(id, "fingerprint-1", time), Ct))
        {
            same = claim.Kept;
        }

        Assert.Equal("fingerprint-1", other?.Fingerprint); // another payload: still refused
        Assert.Null(same); // the same payload: claimed anew, to run again
    }

    private static IdempotencyRecord Request(Guid id, string fingerprint, TimeProvider? time = null) =>
        new(id, "command", fingerprint, null, (time ?? TimeProvider.System).GetUtcNow());

    private static async Task<bool> Completes(Task task, TimeSpan within)
    {
        try
        {
            await task.WaitAsync(within, Ct);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>
    /// Terminates the backends of <paramref name="applicationName"/> in this test's database that hold an advisory lock
    /// (claims hold theirs on a connection of their own). Other tests' nodes share the name in databases of their own.
    /// </summary>
    private static async Task<int> TerminateClaimHoldersAsync(string connectionString, string applicationName)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(
            """
            select count(*) from (
              select pg_terminate_backend(a.pid) from pg_stat_activity a
              where a.datname = current_database() and a.application_name = @name and exists (select 1 from pg_locks l where l.pid = a.pid and l.locktype = 'advisory' and l.granted)) t
            """,
            connection);
        command.Parameters.AddWithValue("name", applicationName);
        return (int)(long)(await command.ExecuteScalarAsync(Ct))!;
    }
}
