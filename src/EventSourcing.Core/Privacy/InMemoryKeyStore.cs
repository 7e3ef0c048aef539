using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace EventSourcing.Privacy;

/// <summary>Data keys in memory, for the embedded default and tests. Nothing survives the process.</summary>
internal sealed class InMemoryKeyStore(MasterKey masterKey, bool allowNewKeyAfterForget = false) : WrappingKeyStore(masterKey, allowNewKeyAfterForget)
{
    private readonly ConcurrentDictionary<string, StoredKey> _rows = new(StringComparer.Ordinal);

    /// <summary>How many keys are stored (tombstones of forgotten subjects left out).</summary>
    public int Count => _rows.Values.Count(row => !row.IsForgotten);

    /// <inheritdoc />
    public override Task<bool> DeleteAsync(string subjectId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(subjectId);
        while (true)
        {
            if (_rows.TryGetValue(subjectId, out var row))
            {
                if (row.IsForgotten || _rows.TryUpdate(subjectId, StoredKey.Forgotten, row))
                {
                    return Task.FromResult(!row.IsForgotten);
                }
            }
            else if (_rows.TryAdd(subjectId, StoredKey.Forgotten))
            {
                return Task.FromResult(false);
            }
        }
    }

    /// <inheritdoc />
    protected override Task<StoredKey?> ReadAsync(string subjectId, CancellationToken cancellationToken) => Task.FromResult(Read(subjectId));

    /// <inheritdoc />
    protected override StoredKey? Read(string subjectId) => _rows.TryGetValue(subjectId, out var row) ? row : null;

    /// <inheritdoc />
    protected override Task<StoredKey> InsertIfAbsentAsync(string subjectId, WrappedKey key, CancellationToken cancellationToken) =>
        Task.FromResult(InsertIfAbsent(subjectId, key));

    /// <inheritdoc />
    protected override StoredKey InsertIfAbsent(string subjectId, WrappedKey key) => AllowNewKeyAfterForget
        ? _rows.AddOrUpdate(subjectId, static (_, key) => new StoredKey(key), static (_, row, key) => row.IsForgotten ? new StoredKey(key) : row, key)
        : _rows.GetOrAdd(subjectId, new StoredKey(key));

    /// <inheritdoc />
    protected override async IAsyncEnumerable<(string SubjectId, WrappedKey Key)> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.CompletedTask.ConfigureAwait(false);
        foreach (var (subject, row) in _rows)
        {
            if (row.Key is { } key)
            {
                yield return (subject, key);
            }
        }
    }

    /// <inheritdoc />
    protected override Task UpdateAsync(string subjectId, WrappedKey key, CancellationToken cancellationToken)
    {
        _rows.AddOrUpdate(subjectId, static (_, key) => new StoredKey(key), static (_, row, key) => row.IsForgotten ? row : new StoredKey(key), key);
        return Task.CompletedTask;
    }
}
