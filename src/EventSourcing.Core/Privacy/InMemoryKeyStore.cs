using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace EventSourcing.Privacy;

/// <summary>Data keys in memory, for the embedded default and tests. Nothing survives the process.</summary>
public sealed class InMemoryKeyStore(MasterKey masterKey, bool allowNewKeyAfterForget = false) : WrappingKeyStore(masterKey, allowNewKeyAfterForget)
{
    private readonly ConcurrentDictionary<string, WrappedKey> _keys = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _forgotten = new(StringComparer.Ordinal);

    /// <summary>How many keys are stored.</summary>
    public int Count => _keys.Count;

    /// <inheritdoc />
    public override Task<bool> DeleteAsync(string subjectId, CancellationToken cancellationToken)
    {
        _forgotten[subjectId] = DateTimeOffset.UtcNow;
        return Task.FromResult(_keys.TryRemove(subjectId, out _));
    }

    /// <inheritdoc />
    protected override Task<WrappedKey?> ReadAsync(string subjectId, CancellationToken cancellationToken) => Task.FromResult(Read(subjectId));

    /// <inheritdoc />
    protected override WrappedKey? Read(string subjectId) => _keys.TryGetValue(subjectId, out var key) ? key : null;

    /// <inheritdoc />
    protected override Task<WrappedKey> InsertIfAbsentAsync(string subjectId, WrappedKey key, CancellationToken cancellationToken) =>
        Task.FromResult(InsertIfAbsent(subjectId, key));

    /// <inheritdoc />
    protected override WrappedKey InsertIfAbsent(string subjectId, WrappedKey key) => _keys.GetOrAdd(subjectId, key);

    /// <inheritdoc />
    protected override Task<bool> IsForgottenAsync(string subjectId, CancellationToken cancellationToken) => Task.FromResult(IsForgotten(subjectId));

    /// <inheritdoc />
    protected override bool IsForgotten(string subjectId) => _forgotten.ContainsKey(subjectId);

    /// <inheritdoc />
    protected override async IAsyncEnumerable<(string SubjectId, WrappedKey Key)> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.CompletedTask.ConfigureAwait(false);
        foreach (var (subject, key) in _keys)
        {
            yield return (subject, key);
        }
    }

    /// <inheritdoc />
    protected override Task UpdateAsync(string subjectId, WrappedKey key, CancellationToken cancellationToken)
    {
        _keys[subjectId] = key;
        return Task.CompletedTask;
    }
}
