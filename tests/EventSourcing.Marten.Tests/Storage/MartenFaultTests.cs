using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using EventSourcing.Commands;
using EventSourcing.Deciders;
using EventSourcing.Events;
using EventSourcing.Hosting;
using EventSourcing.Marten.Hosting;
using EventSourcing.Privacy;
using EventSourcing.Projections;
using EventSourcing.Storage;
using EventSourcing.Testing.Postgres;
using EventSourcing.Testing.Contracts.Domain;
using EventSourcing.Tests.Shared.Postgres;
using EventSourcing.Testing.Contracts.Storage;
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

    [Fact]
    public async Task Every_store_on_an_unreachable_server_fails_as_unavailable_not_with_a_driver_error()
    {
        var unreachable = $"Host=127.0.0.1;Port={FreePort()};Username=postgres;Database=nowhere;Timeout=3";
        var services = new ServiceCollection().AddLogging();
        services.AddEventSourcing(es =>
        {
            TallyDecider.Register(es.Events);
            es.AddProjection(new TallyViewProjection()).UseTestMarten(unreachable);
        });
        await using var provider = services.BuildServiceProvider();
        var views = provider.GetRequiredService<IProjectionStore>();
        var reader = provider.GetRequiredService<IViewReader>();
        var idempotency = provider.GetRequiredService<IIdempotencyStore>();
        var record = new IdempotencyRecord(Guid.NewGuid(), "AddToTally", "fingerprint", null, DateTimeOffset.UtcNow);

        await Assert.ThrowsAsync<EventStoreUnavailableException>(() => views.ReadStateAsync("tally-view", Ct));
        await Assert.ThrowsAsync<EventStoreUnavailableException>(() => views.FindAsync<TallyView>("tally-view", 1, "tally-1", Ct));
        await Assert.ThrowsAsync<EventStoreUnavailableException>(() => views.QueryAsync<TallyView>("tally-view", 1, v => v.Total > 1, Ct));
        await Assert.ThrowsAsync<EventStoreUnavailableException>(() => views.ReadDeadLettersAsync("tally-view", Ct));
        await Assert.ThrowsAsync<EventStoreUnavailableException>(() => views.StartGenerationAsync("tally-view", scratch: true, Ct));
        await Assert.ThrowsAsync<EventStoreUnavailableException>(() => CheckpointAsync(views));
        await Assert.ThrowsAsync<EventStoreUnavailableException>(() => reader.FindAsync<TallyView>("tally-1", Ct));
        await Assert.ThrowsAsync<EventStoreUnavailableException>(() => idempotency.ClaimAsync(record, Ct));
        await Assert.ThrowsAsync<EventStoreUnavailableException>(() => idempotency.ClaimAsync(record, Ct)); // the first let go of its slot
        await Assert.ThrowsAsync<EventStoreUnavailableException>(() => provider.GetRequiredService<ISnapshotStore>().LoadAsync<Tally>("tally-1", Ct));
        await Assert.ThrowsAsync<EventStoreUnavailableException>(() => provider.GetRequiredService<IKeyStore>().DeleteAsync("guest-1", Ct));
    }

    [Fact]
    public async Task Cancelled_on_a_server_that_hangs_an_operation_gives_up_at_once_rather_than_at_the_driver_timeouts()
    {
        await using var server = await PostgresServer.StartAsync(new PostgresServerOptions { Restartable = true }, Ct);
        await using var services = MartenStoreFixture.BuildServices(await server.CreateDatabaseAsync("hung", Ct), registry => ContractEvents.Registry(registry));
        var store = services.GetRequiredService<IEventStore>();
        await store.AppendAsync("stream-1", ExpectedVersion.Any, [ContractEvents.Thing(1)], EventMetadata.Empty, Ct); // a pooled connection, the schema in place
        var waited = new List<TimeSpan>();

        await server.PauseAsync(Ct);
        try
        {
            foreach (var operation in new Func<CancellationToken, Task>[]
            {
                token => store.ReadStreamAsync("stream-1", 1, token).ToListAsync(token).AsTask(),
                token => store.AppendAsync("stream-1", ExpectedVersion.Any, [ContractEvents.Thing(2)], EventMetadata.Empty, token),
                token => store.ReadHeadPositionAsync(token),
            })
            {
                using var deadline = CancellationTokenSource.CreateLinkedTokenSource(Ct);
                deadline.CancelAfter(TimeSpan.FromSeconds(1));
                var clock = Stopwatch.StartNew();
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => operation(deadline.Token));
                waited.Add(clock.Elapsed);
            }
        }
        finally
        {
            await server.ResumeAsync(Ct);
        }

        Assert.All(waited, w => Assert.InRange(w, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(3)));
        Assert.Equal(1, (await store.ReadStreamAsync("stream-1", 1, Ct).ToListAsync(Ct)).Count(e => e.Data is ThingHappened { Number: 1 }));
    }

    [Theory]
    [InlineData("Host=127.0.0.1;Username=postgres;Database=x", 5)]
    [InlineData("Host=127.0.0.1;Username=postgres;Database=x;Timeout=9", 9)]
    [InlineData("host=127.0.0.1;username=postgres;database=x;timeout=20", 20)]
    public async Task A_connection_string_without_a_connect_timeout_gets_five_seconds_and_one_with_it_keeps_its_own(string connectionString, int seconds)
    {
        var services = new ServiceCollection().AddLogging();
        services.AddEventSourcing(es => es.UseMarten(connectionString));
        await using var provider = services.BuildServiceProvider();

        await using var connection = provider.GetRequiredService<global::Marten.IDocumentStore>().Storage.Database.CreateConnection();

        Assert.Equal(seconds, connection.ConnectionTimeout);
        Assert.Equal(30, connection.CommandTimeout);
    }

    private static async Task CheckpointAsync(IProjectionStore views)
    {
        await using var batch = await views.BeginAsync("tally-view", 1, Ct);
        batch.Checkpoint(1);
        await batch.CommitAsync(Ct);
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
