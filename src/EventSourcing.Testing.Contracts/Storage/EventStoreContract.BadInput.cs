using EventSourcing.Events;
using EventSourcing.Storage;

namespace EventSourcing.Testing.Contracts.Storage;

public abstract partial class EventStoreContract
{
    /// <summary>A missing stream id is rejected.</summary>
    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public async Task A_missing_stream_id_is_rejected(string? streamId)
    {
        var store = await CreateStoreAsync();

        await Assert.ThrowsAnyAsync<ArgumentException>(() => Append(store, streamId!, ExpectedVersion.Any, ContractEvents.Thing(1)));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => ReadStream(store, streamId!));
    }

    /// <summary>An append without events or with a null event is rejected and stores nothing.</summary>
    [Fact]
    public async Task An_append_without_events_or_with_a_null_event_is_rejected_and_stores_nothing()
    {
        var store = await CreateStoreAsync();
        var stream = NewStreamId();

        var empty = await Assert.ThrowsAsync<ArgumentException>(() => Append(store, stream, ExpectedVersion.Any));
        await Assert.ThrowsAsync<ArgumentException>(() => Append(store, stream, ExpectedVersion.Any, ContractEvents.Thing(1), null!));

        Assert.Contains("at least one event", empty.Message, StringComparison.Ordinal);
        Assert.Empty(await ReadStream(store, stream));
    }

    /// <summary>Appending an unregistered type fails naming it and stores nothing of the batch.</summary>
    [Fact]
    public async Task Appending_an_unregistered_type_fails_naming_it_and_stores_nothing_of_the_batch()
    {
        var store = await CreateStoreAsync();
        var stream = NewStreamId();

        var error = await Assert.ThrowsAsync<UnknownEventTypeException>(() => Append(store, stream, ExpectedVersion.Any, ContractEvents.Thing(1), new NeverRegistered("x")));

        Assert.Equal(typeof(NeverRegistered), error.ClrType);
        Assert.Contains(nameof(NeverRegistered), error.Message, StringComparison.Ordinal);
        Assert.Empty(await ReadStream(store, stream));
    }

    /// <summary>Reading a stored type name that is not registered fails naming it.</summary>
    [Fact]
    public async Task Reading_a_stored_type_name_that_is_not_registered_fails_naming_it()
    {
        var store = await CreateStoreAsync();
        var stream = NewStreamId();
        await WriteRawAsync(store, stream, "gone-away.v3", """{"value":"x"}""");

        var error = await Assert.ThrowsAsync<UnknownEventTypeException>(() => ReadStream(store, stream));

        Assert.Equal("gone-away.v3", error.EventTypeName);
        Assert.Contains("'gone-away.v3'", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Reading the whole log returns events that cannot be read in their place and goes on.</summary>
    [Fact]
    public async Task Reading_the_whole_log_returns_events_that_cannot_be_read_in_their_place_and_goes_on()
    {
        var store = await CreateStoreAsync();
        var stream = NewStreamId();
        var unknown = NewStreamId("unknown");
        var misfit = NewStreamId("misfit");
        var first = await Append(store, stream, ExpectedVersion.Any, ContractEvents.Thing(1));
        await WriteRawAsync(store, unknown, "gone-away.v3", """{"value":"x"}""");
        await WriteRawAsync(store, misfit, "thing-happened.v1", """{"name":"x","number":"many"}""");
        var last = await Append(store, stream, ExpectedVersion.Any, ContractEvents.Thing(2));
        await WaitForHeadAsync(store, last.Position);
        string[] streams = [stream, unknown, misfit];
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(Timeout);

        var read = await store.ReadAllAsync(first.Position, Ct).Where(e => streams.Contains(e.StreamId)).ToListAsync(Ct);
        var followed = await store.SubscribeAllAsync(first.Position, timeout.Token).Where(e => streams.Contains(e.StreamId)).Take(4).ToListAsync(timeout.Token);

        Assert.Equal([stream, unknown, misfit, stream], read.Select(e => e.StreamId));
        Assert.Equal(["thing-happened.v1", "gone-away.v3", "thing-happened.v1", "thing-happened.v1"], read.Select(e => e.EventType));
        Assert.IsType<UnknownEventTypeException>(Assert.IsType<UnreadableEvent>(read[1].Data).Error);
        Assert.IsType<EventDeserializationException>(Assert.IsType<UnreadableEvent>(read[2].Data).Error);
        Assert.Equal(ContractEvents.Thing(2), read[3].Data);
        Assert.Equal(read.Select(e => (e.Position, e.EventId, e.Data.GetType())), followed.Select(e => (e.Position, e.EventId, e.Data.GetType())));
        await Assert.ThrowsAsync<EventDeserializationException>(() => ReadStream(store, misfit));
    }

    /// <summary>The same command appended twice is stored once and returns the first result.</summary>
    [Fact]
    public async Task The_same_command_appended_twice_is_stored_once_and_returns_the_first_result()
    {
        var store = await CreateStoreAsync();
        var stream = NewStreamId();
        var metadata = new EventMetadata { CommandId = Guid.NewGuid() };
        await Append(store, stream, ExpectedVersion.NoStream, ContractEvents.Thing(0));

        var first = await store.AppendAsync(stream, ExpectedVersion.Exact(1), [ContractEvents.Thing(1), ContractEvents.Thing(2)], metadata, Ct);
        var again = await store.AppendAsync(stream, ExpectedVersion.Exact(1), [ContractEvents.Thing(1), ContractEvents.Thing(2)], metadata, Ct);

        Assert.False(first.AlreadyApplied);
        Assert.True(again.AlreadyApplied);
        Assert.Equal((first.StreamVersion, first.Position), (again.StreamVersion, again.Position));
        Assert.Equal(3, (await ReadStream(store, stream)).Count);
    }
}
