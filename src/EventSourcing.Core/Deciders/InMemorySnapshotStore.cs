using System.Collections.Concurrent;
using System.Text.Json;

namespace EventSourcing.Deciders;

/// <summary>Snapshots in memory, kept serialized (so personal data in them is encrypted as in any other store).</summary>
internal sealed class InMemorySnapshotStore(JsonSerializerOptions json) : ISnapshotStore
{
    private readonly ConcurrentDictionary<string, (long Version, byte[] Json)> _snapshots = new(StringComparer.Ordinal);

    /// <summary>The stored JSON of every snapshot, as text (for tests of what is at rest).</summary>
    internal IEnumerable<string> ReadAtRest() => _snapshots.Values.Select(s => System.Text.Encoding.UTF8.GetString(s.Json));

    /// <inheritdoc />
    public Task<Snapshot<TState>?> LoadAsync<TState>(string streamId, CancellationToken cancellationToken = default) =>
        Task.FromResult(_snapshots.TryGetValue(streamId, out var stored) ? JsonSerializer.Deserialize<Snapshot<TState>>(stored.Json, json) : null);

    /// <inheritdoc />
    public Task SaveAsync<TState>(string streamId, Snapshot<TState> snapshot, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var serialized = (snapshot.Version, JsonSerializer.SerializeToUtf8Bytes(snapshot, json));
        _snapshots.AddOrUpdate(streamId, serialized, (_, current) => current.Version >= snapshot.Version ? current : serialized);
        return Task.CompletedTask;
    }
}
