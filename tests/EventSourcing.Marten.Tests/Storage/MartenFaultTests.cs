using System.Net;
using System.Net.Sockets;
using EventSourcing.Events;
using EventSourcing.Storage;
using EventSourcing.Tests.Shared.Postgres;
using EventSourcing.Tests.Shared.Storage;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace EventSourcing.Marten.Tests.Storage;

public sealed class MartenFaultTests(PostgresFixture postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_backend_terminated_mid_append_fails_as_unavailable_and_the_retried_command_is_stored_exactly_once()
    {
        var connectionString = await postgres.CreateDatabaseAsync("terminated", Ct);
        var victim = new NpgsqlConnectionStringBuilder(connectionString) { ApplicationName = "terminated-append" }.ConnectionString;
        await using var services = MartenStoreFixture.BuildServices(victim, registry => ContractEvents.Registry(registry));
        var store = services.GetRequiredService<IEventStore>();
        await store.AppendAsync("stream-1", ExpectedVersion.NoStream, [ContractEvents.Thing(0)], EventMetadata.Empty, Ct);
        var command = new EventMetadata { CommandId = Guid.NewGuid() };
        object[] events = [ContractEvents.Thing(1), ContractEvents.Thing(2)];

        // Another transaction holds the stream's row, so the append waits inside its transaction until its backend is killed.
        await using var blocker = new NpgsqlConnection(connectionString);
        await blocker.OpenAsync(Ct);
        await using var transaction = await blocker.BeginTransactionAsync(Ct);
        await Execute(blocker, "select 1 from mt_streams where id = 'stream-1' for update");
        var append = store.AppendAsync("stream-1", ExpectedVersion.Any, events, command, Ct);
        var pid = await WaitForBlockedBackend(blocker, "terminated-append");
        await Execute(blocker, $"select pg_terminate_backend({pid})");
        await transaction.RollbackAsync(Ct);

        var failure = await Assert.ThrowsAsync<EventStoreUnavailableException>(() => append);
        var retried = await store.AppendAsync("stream-1", ExpectedVersion.Any, events, command, Ct);
        var repeated = await store.AppendAsync("stream-1", ExpectedVersion.Any, events, command, Ct);

        Assert.Contains("unavailable", failure.Message, StringComparison.Ordinal);
        Assert.False(retried.AlreadyApplied);
        Assert.True(repeated.AlreadyApplied);
        Assert.Equal((retried.StreamVersion, retried.Position), (repeated.StreamVersion, repeated.Position));
        var stored = await store.ReadStreamAsync("stream-1", 1, Ct).ToListAsync(Ct);
        Assert.Equal([0, 1, 2], stored.Select(e => ((ThingHappened)e.Data).Number));
        Assert.Equal(2, stored.Count(e => e.Metadata.CommandId == command.CommandId));
    }

    [Fact]
    public async Task An_unreachable_server_is_a_typed_retryable_error_for_every_operation()
    {
        var unreachable = $"Host=127.0.0.1;Port={FreePort()};Username=postgres;Database=nowhere;Timeout=3";
        await using var services = MartenStoreFixture.BuildServices(unreachable, registry => ContractEvents.Registry(registry));
        var store = services.GetRequiredService<IEventStore>();

        await Assert.ThrowsAsync<EventStoreUnavailableException>(() => store.AppendAsync("s", ExpectedVersion.Any, [ContractEvents.Thing(1)], EventMetadata.Empty, Ct));
        await Assert.ThrowsAsync<EventStoreUnavailableException>(() => store.ReadStreamAsync("s", 1, Ct).ToListAsync(Ct).AsTask());
        await Assert.ThrowsAsync<EventStoreUnavailableException>(() => store.ReadAllAsync(0, Ct).ToListAsync(Ct).AsTask());
        await Assert.ThrowsAsync<EventStoreUnavailableException>(() => store.ReadHeadPositionAsync(Ct));
    }

    private static async Task<int> WaitForBlockedBackend(NpgsqlConnection connection, string applicationName)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        await using var command = new NpgsqlCommand(
            "select pid from pg_stat_activity where application_name = @name and wait_event_type = 'Lock'", connection);
        command.Parameters.AddWithValue("name", applicationName);
        while (true)
        {
            if (await command.ExecuteScalarAsync(timeout.Token) is int pid)
            {
                return pid;
            }

            await Task.Yield();
        }
    }

    private static async Task Execute(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(Ct);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
