using EventSourcing.Storage;

namespace EventSourcing.Testing.Contracts.Storage;

public abstract partial class EventStoreContract
{
    /// <summary>No stream succeeds on a new stream and conflicts on an existing one.</summary>
    [Fact]
    public async Task No_stream_succeeds_on_a_new_stream_and_conflicts_on_an_existing_one()
    {
        var store = await CreateStoreAsync();
        var stream = NewStreamId();
        await Append(store, stream, ExpectedVersion.NoStream, ContractEvents.Thing(1));

        var conflict = await Assert.ThrowsAsync<ConcurrencyException>(() => Append(store, stream, ExpectedVersion.NoStream, ContractEvents.Thing(2)));

        Assert.Equal(stream, conflict.StreamId);
        Assert.Equal(ExpectedVersion.NoStream, conflict.Expected);
        Assert.Equal(1, conflict.ActualVersion);
        Assert.Single(await ReadStream(store, stream));
    }

    /// <summary>An exact version succeeds when it matches and conflicts otherwise.</summary>
    [Fact]
    public async Task An_exact_version_succeeds_when_it_matches_and_conflicts_otherwise()
    {
        var store = await CreateStoreAsync();
        var stream = NewStreamId();
        await Append(store, stream, ExpectedVersion.Exact(0), ContractEvents.Thing(1), ContractEvents.Thing(2));
        await Append(store, stream, ExpectedVersion.Exact(2), ContractEvents.Thing(3));

        var behind = await Assert.ThrowsAsync<ConcurrencyException>(() => Append(store, stream, ExpectedVersion.Exact(2), ContractEvents.Thing(4)));
        var ahead = await Assert.ThrowsAsync<ConcurrencyException>(() => Append(store, stream, ExpectedVersion.Exact(7), ContractEvents.Thing(4)));

        Assert.Equal((ExpectedVersion.Exact(2), 3L), (behind.Expected, behind.ActualVersion!.Value));
        Assert.Equal((ExpectedVersion.Exact(7), 3L), (ahead.Expected, ahead.ActualVersion!.Value));
        Assert.Contains(stream, behind.Message, StringComparison.Ordinal);
        Assert.Equal(3, (await ReadStream(store, stream)).Count);
    }

    /// <summary>Stream exists conflicts on a missing stream and succeeds on an existing one.</summary>
    [Fact]
    public async Task Stream_exists_conflicts_on_a_missing_stream_and_succeeds_on_an_existing_one()
    {
        var store = await CreateStoreAsync();
        var stream = NewStreamId();

        var conflict = await Assert.ThrowsAsync<ConcurrencyException>(() => Append(store, stream, ExpectedVersion.StreamExists, ContractEvents.Thing(1)));
        await Append(store, stream, ExpectedVersion.NoStream, ContractEvents.Thing(1));
        var result = await Append(store, stream, ExpectedVersion.StreamExists, ContractEvents.Thing(2));

        Assert.Equal(0, conflict.ActualVersion);
        Assert.Equal(ExpectedVersion.StreamExists, conflict.Expected);
        Assert.Equal(2, result.StreamVersion);
    }

    /// <summary>Any appends whatever the version.</summary>
    [Fact]
    public async Task Any_appends_whatever_the_version()
    {
        var store = await CreateStoreAsync();
        var stream = NewStreamId();

        var first = await Append(store, stream, ExpectedVersion.Any, ContractEvents.Thing(1));
        var second = await Append(store, stream, ExpectedVersion.Any, ContractEvents.Thing(2), ContractEvents.Thing(3));

        Assert.Equal((1L, 3L), (first.StreamVersion, second.StreamVersion));
    }

    /// <summary>Of 64 concurrent appends with the same expected version exactly one succeeds.</summary>
    [Fact]
    public async Task Of_64_concurrent_appends_with_the_same_expected_version_exactly_one_succeeds()
    {
        var store = await CreateStoreAsync();
        var stream = NewStreamId();
        await Append(store, stream, ExpectedVersion.NoStream, ContractEvents.Thing(0));
        using var start = new ManualResetEventSlim();

        var attempts = Enumerable.Range(1, 64).Select(i => Task.Run(async () =>
        {
            start.Wait(Ct);
            try
            {
                await Append(store, stream, ExpectedVersion.Exact(1), ContractEvents.Thing(i));
                return "ok";
            }
            catch (ConcurrencyException conflict) when (conflict.StreamId == stream && conflict.Expected == ExpectedVersion.Exact(1))
            {
                return "conflict";
            }
        })).ToArray();
        start.Set();
        var outcomes = await Task.WhenAll(attempts).WaitAsync(Timeout, Ct);

        Assert.Equal(1, outcomes.Count(o => o == "ok"));
        Assert.Equal(63, outcomes.Count(o => o == "conflict"));
        Assert.Equal([1L, 2L], (await ReadStream(store, stream)).Select(e => e.StreamVersion));
    }

    /// <summary>A reader never sees half of an append.</summary>
    [Fact]
    public async Task A_reader_never_sees_half_of_an_append()
    {
        var store = await CreateStoreAsync();
        var stream = NewStreamId();
        const int BatchSize = 10;
        using var done = new CancellationTokenSource();

        var writer = Task.Run(async () =>
        {
            for (var batch = 0; batch < 30; batch++)
            {
                await Append(store, stream, ExpectedVersion.Exact(batch * BatchSize), [.. Enumerable.Range(0, BatchSize).Select(i => (object)ContractEvents.Thing(i))]);
            }

            await done.CancelAsync();
        });
        var counts = new List<int>();
        while (!done.IsCancellationRequested)
        {
            counts.Add((await ReadStream(store, stream)).Count);
        }

        await writer.WaitAsync(Timeout, Ct);
        Assert.All(counts, count => Assert.Equal(0, count % BatchSize));
        Assert.Equal(300, (await ReadStream(store, stream)).Count);
    }
}
