namespace EventSourcing.Deciders;

/// <summary>
/// Keeps the folded state of a stream at a version, so a decider handler reads only the events after it. Snapshots
/// are serialized like everything else: personal data in the state is encrypted under its subject's key.
/// </summary>
public interface ISnapshotStore
{
    /// <summary>The latest snapshot of <paramref name="streamId"/>, or null.</summary>
    Task<Snapshot<TState>?> LoadAsync<TState>(string streamId, CancellationToken cancellationToken = default);

    /// <summary>Keeps <paramref name="snapshot"/> as the latest of <paramref name="streamId"/> (an older one never replaces a newer one).</summary>
    Task SaveAsync<TState>(string streamId, Snapshot<TState> snapshot, CancellationToken cancellationToken = default);
}

/// <summary>A stream's state after its event at <paramref name="Version"/>.</summary>
/// <param name="State">The folded state.</param>
/// <param name="Version">The stream version the state reflects.</param>
/// <param name="Position">The global position of that event.</param>
public sealed record Snapshot<TState>(TState State, long Version, long Position);
