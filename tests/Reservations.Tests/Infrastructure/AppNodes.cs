using System.Collections;

namespace Reservations.Tests.Infrastructure;

/// <summary>
/// Several application nodes on one PostgreSQL database, as several instances of the API behind a load balancer: each
/// node is a host of its own in this test process (a <see cref="ReservationsApp"/>) with its own DI container, so its
/// own key cache, idempotency gate, key store, Marten store, async daemon and reactor. What is <c>static</c> is shared
/// (the test process's master key, thread-static nonce blocks): a check of static state needs separate processes.
/// </summary>
/// <remarks>
/// Start a group with <see cref="PostgresStore.StartNodesAsync"/>. Nodes may stop early (dispose one: a node that goes
/// away, for fail-over) and more may join later (<see cref="StartNodeAsync"/>: a fresh node with cold caches that has
/// seen nothing of what happened before it). The database is dropped once the group and every node it started are
/// disposed, in whatever order.
/// </remarks>
public sealed class AppNodes : IReadOnlyList<ReservationsApp>, IAsyncDisposable
{
    private readonly Func<AppSetup, Func<Task>, Task<ReservationsApp>> _start;
    private readonly Func<Task> _dropDatabase;
    private readonly AppSetup _setup;
    private readonly List<ReservationsApp> _nodes = [];
    private readonly Lock _lock = new();
    private int _holders = 1; // the group itself, until it is disposed
    private int _disposed;

    /// <summary>A group on the database at <paramref name="connectionString"/>; <paramref name="dropDatabase"/> runs once, after the last holder lets go.</summary>
    internal AppNodes(string connectionString, AppSetup setup, Func<AppSetup, Func<Task>, Task<ReservationsApp>> start, Func<Task> dropDatabase)
    {
        ConnectionString = connectionString;
        _setup = setup;
        _start = start;
        _dropDatabase = dropDatabase;
    }

    /// <summary>The connection string every node uses: for checks straight from the database.</summary>
    public string ConnectionString { get; }

    /// <summary>How many nodes were started (stopped ones included).</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _nodes.Count;
            }
        }
    }

    /// <summary>The node started <paramref name="index"/>th (0: the first).</summary>
    public ReservationsApp this[int index]
    {
        get
        {
            lock (_lock)
            {
                return _nodes[index];
            }
        }
    }

    /// <summary>
    /// Starts one more node on the database, with the group's setup or <paramref name="setup"/> (settings of its own):
    /// a node that joins later, with empty caches.
    /// </summary>
    public async Task<ReservationsApp> StartNodeAsync(AppSetup? setup = null)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        Interlocked.Increment(ref _holders);
        var released = 0;
        // The node's own hold is released when it is disposed (also when it fails to start: the start disposes it).
        var node = await _start(setup ?? _setup, () => Interlocked.Exchange(ref released, 1) == 0 ? ReleaseAsync() : Task.CompletedTask);
        lock (_lock)
        {
            _nodes.Add(node);
        }

        return node;
    }

    /// <summary>Stops every node still running (the last started first), then drops the database.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        ReservationsApp[] nodes;
        lock (_lock)
        {
            nodes = [.. _nodes];
        }

        try
        {
            for (var i = nodes.Length - 1; i >= 0; i--)
            {
                await nodes[i].DisposeAsync(); // a node the test stopped already: nothing happens
            }
        }
        finally
        {
            await ReleaseAsync();
        }
    }

    /// <inheritdoc />
    public IEnumerator<ReservationsApp> GetEnumerator()
    {
        ReservationsApp[] nodes;
        lock (_lock)
        {
            nodes = [.. _nodes];
        }

        return ((IEnumerable<ReservationsApp>)nodes).GetEnumerator();
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private Task ReleaseAsync() => Interlocked.Decrement(ref _holders) == 0 ? _dropDatabase() : Task.CompletedTask;
}
