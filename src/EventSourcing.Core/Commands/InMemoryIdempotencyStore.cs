using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace EventSourcing.Commands;

/// <summary>
/// Keeps idempotency records in memory, one process, one store: the results for <see cref="IdempotencyOptions.Retention"/>,
/// the payloads' fingerprints for the life of the process.
/// </summary>
internal sealed class InMemoryIdempotencyStore : IIdempotencyStore
{
    private readonly ConcurrentDictionary<Guid, Slot> _slots = new();
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _retention;

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
        var slot = _slots.GetOrAdd(request.CommandId, static _ => new Slot());
        await slot.Lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        // Past the retention the result goes, but the payload still binds the id: the same one runs again.
        var kept = slot.Record is { } record && !(IsExpired(record, _timeProvider.GetUtcNow()) && record.Fingerprint == request.Fingerprint) ? record : null;
        if (kept is null)
        {
            slot.Record = request with { Response = null };
        }

        return new Claim(slot, kept);
    }

    private bool IsExpired(IdempotencyRecord record, DateTimeOffset now) => now - record.CreatedAt > _retention;

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
