using EventSourcing.Deciders;
using EventSourcing.Marten.Privacy;
using EventSourcing.Marten.Storage;
using EventSourcing.Privacy;
using Marten;

namespace EventSourcing.Marten.Deciders;

/// <summary>Snapshots as Marten documents (<see cref="SnapshotDocument{TState}"/>, one per stream), serialized with crypto-shredding.</summary>
public sealed class MartenSnapshotStore(IDocumentStore store, PersonalDataProtector? protector = null) : ISnapshotStore
{
    /// <inheritdoc />
    public Task<Snapshot<TState>?> LoadAsync<TState>(string streamId, CancellationToken cancellationToken = default) => MartenErrors.GuardAsync(async cancellationToken =>
    {
        var session = store.QuerySession();
        await using var dispose = session.ConfigureAwait(false);
        var document = protector is null
            ? await session.LoadAsync<SnapshotDocument<TState>>(streamId, cancellationToken).ConfigureAwait(false)
            : await SealedDocuments.LoadAsync<SnapshotDocument<TState>>(session, protector, streamId, cancellationToken).ConfigureAwait(false);
        return document is null ? null : new Snapshot<TState>(document.State, document.Version, document.Position);
    }, cancellationToken);

    /// <inheritdoc />
    public async Task SaveAsync<TState>(string streamId, Snapshot<TState> snapshot, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        if (protector is not null)
        {
            await protector.PrepareWriteAsync(PersonalDataJson.SubjectsOf(snapshot.State), cancellationToken).ConfigureAwait(false);
        }

        var session = store.LightweightSession();
        await using var dispose = session.ConfigureAwait(false);
        var current = await session.LoadAsync<SnapshotDocument<TState>>(streamId, cancellationToken).ConfigureAwait(false);
        if (current is not null && current.Version >= snapshot.Version)
        {
            return;
        }

        session.Store(new SnapshotDocument<TState> { Id = streamId, Version = snapshot.Version, Position = snapshot.Position, State = snapshot.State });
        await session.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>How a snapshot is stored in Marten.</summary>
/// <typeparam name="TState">The decider's state type.</typeparam>
public sealed class SnapshotDocument<TState>
{
    /// <summary>The stream id.</summary>
    public string Id { get; set; } = string.Empty;

    /// <summary>The stream version the state reflects.</summary>
    public long Version { get; set; }

    /// <summary>The global position of that event.</summary>
    public long Position { get; set; }

    /// <summary>The state.</summary>
    public TState State { get; set; } = default!;
}
