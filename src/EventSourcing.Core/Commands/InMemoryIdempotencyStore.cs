using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace EventSourcing.Commands;

/// <summary>Keeps idempotency records in memory for <see cref="IdempotencyOptions.Retention"/>.</summary>
public sealed class InMemoryIdempotencyStore : IIdempotencyStore
{
    private readonly ConcurrentDictionary<Guid, IdempotencyRecord> _records = new();
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _retention;
    private long _nextSweepTicks;

    /// <summary>Creates an empty store.</summary>
    public InMemoryIdempotencyStore(IOptions<IdempotencyOptions>? options = null, TimeProvider? timeProvider = null)
    {
        _timeProvider = timeProvider ?? TimeProvider.System;
        _retention = (options?.Value ?? new IdempotencyOptions()).Retention;
    }

    /// <inheritdoc />
    public Task<IdempotencyRecord?> FindAsync(Guid commandId, CancellationToken cancellationToken)
    {
        var found = _records.TryGetValue(commandId, out var record) && !IsExpired(record, _timeProvider.GetUtcNow()) ? record : null;
        return Task.FromResult(found);
    }

    /// <inheritdoc />
    public Task<IdempotencyRecord> AddAsync(IdempotencyRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        SweepExpired();
        return Task.FromResult(_records.GetOrAdd(record.CommandId, record));
    }

    private bool IsExpired(IdempotencyRecord record, DateTimeOffset now) => now - record.CreatedAt > _retention;

    private void SweepExpired()
    {
        var now = _timeProvider.GetUtcNow();
        var due = Interlocked.Read(ref _nextSweepTicks);
        if (now.UtcTicks < due || Interlocked.CompareExchange(ref _nextSweepTicks, now.UtcTicks + (_retention.Ticks / 10) + 1, due) != due)
        {
            return;
        }

        foreach (var (id, record) in _records)
        {
            if (IsExpired(record, now))
            {
                _records.TryRemove(id, out _);
            }
        }
    }
}
