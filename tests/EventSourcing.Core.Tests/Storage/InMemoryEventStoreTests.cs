using EventSourcing.Events;
using EventSourcing.Storage;
using EventSourcing.Testing.Contracts.Storage;

namespace EventSourcing.Core.Tests.Storage;

public sealed class InMemoryEventStoreTests : EventStoreContract
{
    protected override Task<IEventStore> CreateStoreAsync() =>
        Task.FromResult<IEventStore>(new InMemoryEventStore(new SystemTextJsonEventSerializer(ContractEvents.Registry())));

    protected override Task WriteRawAsync(IEventStore store, string streamId, string eventType, string json) =>
        ((InMemoryEventStore)store).AppendSerializedAsync(streamId, ExpectedVersion.Any, [new SerializedEvent(eventType, System.Text.Encoding.UTF8.GetBytes(json))], EventMetadata.Empty);

    [Fact]
    public async Task Positions_are_gap_free_from_one_under_concurrent_appends()
    {
        var store = await CreateStoreAsync();

        await Task.WhenAll(Enumerable.Range(0, 8).Select(writer => Task.Run(async () =>
        {
            for (var i = 0; i < 500; i++)
            {
                await Append(store, $"writer-{writer}", ExpectedVersion.Any, ContractEvents.Thing(i));
            }
        })));

        var positions = await store.ReadAllAsync(0, Ct).Select(e => e.Position).ToListAsync(Ct);
        Assert.Equal(Enumerable.Range(1, 4000).Select(p => (long)p), positions);
        Assert.Equal(4000, await store.ReadHeadPositionAsync(Ct));
    }

    [Fact]
    public async Task Timestamps_come_from_the_time_provider()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero));
        var store = new InMemoryEventStore(new SystemTextJsonEventSerializer(ContractEvents.Registry()), clock);

        await store.AppendAsync("s", ExpectedVersion.Any, [ContractEvents.Thing(1)], EventMetadata.Empty, Ct);

        Assert.Equal(clock.GetUtcNow(), (await ReadStream(store, "s")).Single().Timestamp);
    }
}
