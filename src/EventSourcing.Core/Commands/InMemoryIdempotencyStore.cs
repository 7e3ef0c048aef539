using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace EventSourcing.Commands;

/// <summary>Keeps idempotency records in memory for <see cref="IdempotencyOptions.Retention"/>: one process, one store.</summary>
public sealed class InMemoryIdempotencyStore : IIdempotencyStore
{
    private readonly ConcurrentDictionary<Guid, Slot> _slots = new();
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
    public async Task<IdempotencyClaim> ClaimAsync(IdempotencyRecord request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        SweepExpired();
        while (true)
        {
            var slot = _slots.GetOrAdd(request.CommandId, static _ => new Slot());
            await slot.Lock.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (!_slots.TryGetValue(request.CommandId, out var current) || !ReferenceEquals(current, slot))
            {
                slot.Lock.Release(); // swept meanwhile: claim the slot that is there now
                continue;
            }

            var kept = slot.Record is { } record && !IsExpired(record, _timeProvider.GetUtcNow()) ? record : null;
            if (kept is null)
            {
                slot.Record = request with { Response = null };
            }

            return new Claim(slot, kept);
        }
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

        foreach (var (id, slot) in _slots)
        {
            if (slot.Lock.Wait(0))
            {
                if (slot.Record is null || IsExpired(slot.Record, now))
                {
                    _slots.TryRemove(new KeyValuePair<Guid, Slot>(id, slot)); // under its lock: a claimer waiting on it looks again
                }

                slot.Lock.Release();
            }
        }
    }

    private sealed class Slot
    {
        public SemaphoreSlim Lock { get; } = new(1, 1);

        public IdempotencyRecord? Record { get; set; }
    }

    private sealed class Claim(Slot slot, IdempotencyRecord? kept) : IdempotencyClaim(kept)
    {
        private int _released;

        public override Task CompleteAsync(string response, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(response);
            slot.Record = slot.Record! with { Response = response };
            return Task.CompletedTask;
        }

        public override ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                slot.Lock.Release();
            }

            return ValueTask.CompletedTask;
        }
    }
}
