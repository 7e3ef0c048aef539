using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;

namespace EventSourcing.Deciders;

/// <summary>
/// The folded states of the streams a decider handler worked on last, in this process, so that a command reads and
/// folds only the events after the version cached. An entry is an immutable fold of its stream up to its version, taken
/// from a load or from an append that succeeded; the newest entry of a stream wins. At most a given number of streams
/// are kept: past it, the least recently used tenth goes.
/// </summary>
internal sealed class StateCache<TState>
{
    private readonly ConcurrentDictionary<string, CachedState<TState>> _states = new(StringComparer.Ordinal);
    private readonly Lock _trimLock = new();
    private readonly int _capacity;
    private int _count;
    private long _uses;

    public StateCache(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
    }

    /// <summary>How many streams are cached now.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>The cached state of <paramref name="streamId"/>, if any.</summary>
    public bool TryGet(string streamId, [MaybeNullWhen(false)] out CachedState<TState> cached)
    {
        if (_states.TryGetValue(streamId, out cached))
        {
            cached.LastUsed = Interlocked.Increment(ref _uses);
            return true;
        }

        return false;
    }

    /// <summary>Caches <paramref name="state"/> for <paramref name="streamId"/> unless an entry at its version or later is there.</summary>
    public void Offer(string streamId, CachedState<TState> state)
    {
        state.LastUsed = Interlocked.Increment(ref _uses);
        while (true)
        {
            if (_states.TryGetValue(streamId, out var current))
            {
                if (current.Version >= state.Version || _states.TryUpdate(streamId, state, current))
                {
                    return;
                }
            }
            else if (_states.TryAdd(streamId, state))
            {
                if (Interlocked.Increment(ref _count) > _capacity)
                {
                    Trim();
                }

                return;
            }
        }
    }

    /// <summary>Drops <paramref name="used"/> if it is still the entry of <paramref name="streamId"/> (after a conflict on appending from it).</summary>
    public void Drop(string streamId, CachedState<TState> used)
    {
        if (_states.TryRemove(new KeyValuePair<string, CachedState<TState>>(streamId, used)))
        {
            Interlocked.Decrement(ref _count);
        }
    }

    private void Trim()
    {
        lock (_trimLock)
        {
            if (Count <= _capacity)
            {
                return;
            }

            var target = _capacity * 9 / 10;
            // ToArray on the dictionary itself is one consistent snapshot (LINQ over it could fail while threads add).
            var snapshot = _states.ToArray();
            foreach (var pair in snapshot.OrderBy(pair => pair.Value.LastUsed).Take(snapshot.Length - target).ToArray())
            {
                if (_states.TryRemove(pair))
                {
                    Interlocked.Decrement(ref _count);
                }
            }
        }
    }
}

/// <summary>
/// A stream's state folded up to <see cref="Version"/>, with the position of that event and the version of the latest
/// snapshot known when it was folded. Never changed once made, except for its use stamp.
/// </summary>
internal sealed class CachedState<TState>(TState state, long version, long position, long snapshotVersion)
{
    public TState State { get; } = state;

    public long Version { get; } = version;

    public long Position { get; } = position;

    public long SnapshotVersion { get; } = snapshotVersion;

    /// <summary>When the entry was last used, on its cache's use counter (the least recently used go first).</summary>
    public long LastUsed { get; set; }
}
