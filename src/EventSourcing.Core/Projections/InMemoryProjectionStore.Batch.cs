using System.Text.Json;

namespace EventSourcing.Projections;

internal sealed partial class InMemoryProjectionStore
{
    private sealed class Batch(InMemoryProjectionStore store, string projection, int generation) : IProjectionBatch
    {
        private readonly Dictionary<string, ViewRecord> _puts = new(StringComparer.Ordinal);
        private readonly List<DeadLetter> _deadLetters = [];
        private long _checkpoint;

        public Task<IReadOnlyDictionary<string, ViewRecord>> LoadAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken)
        {
            var found = new List<StoredRecord>(ids.Count);
            lock (store._lock)
            {
                var records = store.Data(projection).Generation(generation).Records;
                foreach (var id in ids)
                {
                    if (records.TryGetValue(id, out var record))
                    {
                        found.Add(record);
                    }
                }
            }

            IReadOnlyDictionary<string, ViewRecord> loaded = found.ToDictionary(r => r.Id, store.ToViewRecord, StringComparer.Ordinal);
            return Task.FromResult(loaded);
        }

        public void Put(ViewRecord record) => _puts[record.Id] = record;

        public void DeadLetter(DeadLetter letter) => _deadLetters.Add(letter);

        public void Checkpoint(long position) => _checkpoint = Math.Max(_checkpoint, position);

        public Task CommitAsync(CancellationToken cancellationToken)
        {
            var stored = _puts.Values
                .Select(r => new StoredRecord(r.Id, r.Position, r.View?.GetType(), r.View is null ? null : JsonSerializer.SerializeToUtf8Bytes(r.View, r.View.GetType(), store._json)))
                .ToArray();
            lock (store._lock)
            {
                var data = store.Data(projection);
                if (!data.Generations.TryGetValue(generation, out var target))
                {
                    throw new InvalidOperationException($"Generation {generation} of projection '{projection}' was dropped.");
                }

                foreach (var record in stored)
                {
                    target.Records[record.Id] = record;
                }

                target.Position = Math.Max(target.Position, _checkpoint);
                data.DeadLetters.AddRange(_deadLetters.Where(letter => !data.DeadLetters.Exists(kept => kept.Position == letter.Position)));
            }

            store.SignalChange();
            _puts.Clear();
            _deadLetters.Clear();
            return Task.CompletedTask;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
