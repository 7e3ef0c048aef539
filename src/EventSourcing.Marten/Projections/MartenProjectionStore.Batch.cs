using EventSourcing.Marten.Storage;
using EventSourcing.Projections;
using Marten;

namespace EventSourcing.Marten.Projections;

public sealed partial class MartenProjectionStore
{
    /// <summary>A unit of work on one generation, in its own session or in one that another party commits.</summary>
    private sealed class MartenBatch(IViewTable? table, IDocumentOperations operations, bool ownsSession, string projection, int generation, bool trackCheckpoint)
        : IProjectionBatch
    {
        private readonly Dictionary<string, ViewRecord> _puts = new(StringComparer.Ordinal);
        private readonly List<DeadLetter> _deadLetters = [];
        private long _checkpoint;

        public Task<IReadOnlyDictionary<string, ViewRecord>> LoadAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken = default) =>
            GuardedAsync(cancellationToken => LoadCoreAsync(ids, cancellationToken), cancellationToken);

        public Task CommitAsync(CancellationToken cancellationToken = default) => GuardedAsync(async cancellationToken =>
        {
            await CommitCoreAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }, cancellationToken);

        public void Put(ViewRecord record) => _puts[record.Id] = record;

        public void DeadLetter(DeadLetter letter) => _deadLetters.Add(letter);

        public void Checkpoint(long position) => _checkpoint = Math.Max(_checkpoint, position);

        public ValueTask DisposeAsync() => ownsSession ? ((IDocumentSession)operations).DisposeAsync() : ValueTask.CompletedTask;

        /// <summary>In a session of its own, database errors are the store's; in the daemon's or an append's, they are left to their owner.</summary>
        private Task<T> GuardedAsync<T>(Func<CancellationToken, Task<T>> operation, CancellationToken cancellationToken) => ownsSession ? MartenErrors.GuardAsync(operation, cancellationToken) : operation(cancellationToken);

        private async Task<IReadOnlyDictionary<string, ViewRecord>> LoadCoreAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken)
        {
            if (table is null)
            {
                return new Dictionary<string, ViewRecord>();
            }

            var records = await table.LoadAsync(operations, projection, generation, ids, cancellationToken).ConfigureAwait(false);
            return records.ToDictionary(r => r.Id, StringComparer.Ordinal);
        }

        private async Task CommitCoreAsync(CancellationToken cancellationToken)
        {
            if (_puts.Count > 0)
            {
                (table ?? throw new InvalidOperationException($"'{projection}' has no views to store.")).Store(operations, projection, generation, _puts.Values);
            }

            foreach (var letter in _deadLetters)
            {
                operations.Store(new DeadLetterDocument
                {
                    Id = $"{letter.Projection}/{letter.Position}",
                    Projection = letter.Projection,
                    Position = letter.Position,
                    EventId = letter.EventId,
                    StreamId = letter.StreamId,
                    EventType = letter.EventType,
                    Error = letter.Error,
                    FailedAt = letter.FailedAt,
                });
            }

            if (trackCheckpoint && _checkpoint > 0)
            {
                var checkpoint = new GenerationCheckpoint { Id = GenerationCheckpoint.DocumentId(projection, generation), Position = _checkpoint };
                var sql = ProjectionDocumentsSql.For(operations.DocumentStore);
                if (!sql.CanMoveCheckpoint)
                {
                    var current = await operations.LoadAsync<GenerationCheckpoint>(checkpoint.Id, cancellationToken).ConfigureAwait(false);
                    if (current is null || current.Position < checkpoint.Position)
                    {
                        operations.Store(checkpoint);
                    }
                }
                else
                {
                    // Moved forward only, in the same transaction as the views and dead letters, without reading it first.
                    await MartenSchema.For(operations.DocumentStore).EnsureAsync(Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, cancellationToken).ConfigureAwait(false);
                    operations.QueueSqlCommand(sql.MoveCheckpoint, sql.MoveParameters(checkpoint));
                }
            }

            if (ownsSession)
            {
                await ((IDocumentSession)operations).SaveChangesAsync(cancellationToken).ConfigureAwait(false);
            }

            _puts.Clear();
            _deadLetters.Clear();
        }
    }
}
