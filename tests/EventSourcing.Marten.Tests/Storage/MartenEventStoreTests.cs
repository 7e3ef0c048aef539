using EventSourcing.Storage;
using EventSourcing.Testing.Contracts.Storage;
using Npgsql;

namespace EventSourcing.Marten.Tests.Storage;

/// <summary>The store contract, unchanged, on PostgreSQL through Marten.</summary>
public sealed class MartenEventStoreTests(MartenStoreFixture fixture) : EventStoreContract, IClassFixture<MartenStoreFixture>
{
    protected override Task<IEventStore> CreateStoreAsync() => Task.FromResult(fixture.Store);

    protected override async Task WriteRawAsync(IEventStore store, string streamId, string eventType, string json)
    {
        var result = await Append(store, streamId, ExpectedVersion.Any, ContractEvents.Thing(0));
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand("update mt_events set type = @type, data = @data::jsonb where seq_id = @seq", connection);
        command.Parameters.AddWithValue("type", eventType);
        command.Parameters.AddWithValue("data", json);
        command.Parameters.AddWithValue("seq", result.Position);
        Assert.Equal(1, await command.ExecuteNonQueryAsync(Ct));
    }
}
