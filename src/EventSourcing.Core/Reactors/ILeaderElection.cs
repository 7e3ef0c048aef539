namespace EventSourcing.Reactors;

/// <summary>
/// Chooses the one process that runs a follower of the log (a reactor) among every process sharing the store. A store
/// several processes share elects through the database (the PostgreSQL store holds an advisory lock per follower);
/// the in-memory store has one process, which is always elected.
/// </summary>
public interface ILeaderElection
{
    /// <summary>This process's name, as status reports show the process running a follower.</summary>
    string Node { get; }

    /// <summary>
    /// Makes this process the one that runs <paramref name="follower"/>, unless another one is: null then. The leadership
    /// lasts until it is disposed, or until <see cref="ILeadership.Lost"/> says it was lost (its connection broke).
    /// </summary>
    Task<ILeadership?> TryAcquireAsync(string follower, CancellationToken cancellationToken = default);

    /// <summary>The name of the process that runs <paramref name="follower"/> now, or null when none does.</summary>
    Task<string?> FindLeaderAsync(string follower, CancellationToken cancellationToken = default);
}

/// <summary>Leadership of a follower, held until disposed.</summary>
public interface ILeadership : IAsyncDisposable
{
    /// <summary>Cancelled when the leadership was lost without being disposed (another process may run the follower from then on).</summary>
    CancellationToken Lost { get; }
}

/// <summary>The election of a store that only this process uses: it is always the leader.</summary>
internal sealed class LocalLeaderElection(string node) : ILeaderElection
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _held = new(StringComparer.Ordinal);

    public string Node { get; } = node;

    public Task<ILeadership?> TryAcquireAsync(string follower, CancellationToken cancellationToken = default) =>
        Task.FromResult<ILeadership?>(_held.TryAdd(follower, 0) ? new Held(this, follower) : null);

    public Task<string?> FindLeaderAsync(string follower, CancellationToken cancellationToken = default) =>
        Task.FromResult(_held.ContainsKey(follower) ? Node : null);

    private sealed class Held(LocalLeaderElection election, string follower) : ILeadership
    {
        public CancellationToken Lost => CancellationToken.None;

        public ValueTask DisposeAsync()
        {
            election._held.TryRemove(follower, out _);
            return ValueTask.CompletedTask;
        }
    }
}
