using System.Collections.Concurrent;
using System.Linq.Expressions;
using EventSourcing.Projections;

namespace EventSourcing.Core.Tests.Reactors;

/// <summary>A projection store that counts the batches committed (what a database pays a transaction for), and the checkpoint each one stored.</summary>
internal sealed class CountingProjectionStore(IProjectionStore inner, Action onCommit) : IProjectionStore
{
    private readonly ConcurrentQueue<long> _commits = new();

    private readonly Action _onCommit = onCommit;

    /// <summary>How many batches were committed.</summary>
    public int Commits => _commits.Count;

    /// <summary>The checkpoint each committed batch stored, in commit order.</summary>
    public IReadOnlyList<long> Committed => [.. _commits];

    public Task<ProjectionState> ReadStateAsync(string projection, CancellationToken cancellationToken) => inner.ReadStateAsync(projection, cancellationToken);

    public Task<int> StartGenerationAsync(string projection, bool scratch, CancellationToken cancellationToken) => inner.StartGenerationAsync(projection, scratch, cancellationToken);

    public async Task<IProjectionBatch> BeginAsync(string projection, int generation, CancellationToken cancellationToken) =>
        new Batch(await inner.BeginAsync(projection, generation, cancellationToken), this);

    public Task<int> SwapAsync(string projection, int generation, CancellationToken cancellationToken) => inner.SwapAsync(projection, generation, cancellationToken);

    public Task DropGenerationAsync(string projection, int generation, CancellationToken cancellationToken) => inner.DropGenerationAsync(projection, generation, cancellationToken);

    public IAsyncEnumerable<ViewRecord> ReadViewsAsync(string projection, int generation, CancellationToken cancellationToken) => inner.ReadViewsAsync(projection, generation, cancellationToken);

    public Task<TView?> FindAsync<TView>(string projection, int generation, string id, CancellationToken cancellationToken)
        where TView : class => inner.FindAsync<TView>(projection, generation, id, cancellationToken);

    public Task<IReadOnlyList<TView>> QueryAsync<TView>(string projection, int generation, Expression<Func<TView, bool>> predicate, CancellationToken cancellationToken)
        where TView : class => inner.QueryAsync(projection, generation, predicate, cancellationToken);

    public Task<IReadOnlyList<DeadLetter>> ReadDeadLettersAsync(string projection, CancellationToken cancellationToken) => inner.ReadDeadLettersAsync(projection, cancellationToken);
    public Task DropDeadLettersAsync(string projection, long fromPosition, CancellationToken cancellationToken) => inner.DropDeadLettersAsync(projection, fromPosition, cancellationToken);


    public Task WaitForChangeAsync(TimeSpan timeout, CancellationToken cancellationToken) => inner.WaitForChangeAsync(timeout, cancellationToken);

    private sealed class Batch(IProjectionBatch inner, CountingProjectionStore store) : IProjectionBatch
    {
        private long _checkpoint = -1;

        public Task<IReadOnlyDictionary<string, ViewRecord>> LoadAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken) => inner.LoadAsync(ids, cancellationToken);

        public void Put(ViewRecord record) => inner.Put(record);

        public void DeadLetter(DeadLetter letter) => inner.DeadLetter(letter);

        public void Checkpoint(long position)
        {
            _checkpoint = Math.Max(_checkpoint, position);
            inner.Checkpoint(position);
        }

        public async Task CommitAsync(CancellationToken cancellationToken)
        {
            await inner.CommitAsync(cancellationToken);
            store._commits.Enqueue(_checkpoint);
            store._onCommit();
        }

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
