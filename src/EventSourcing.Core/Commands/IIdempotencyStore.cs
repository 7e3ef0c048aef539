namespace EventSourcing.Commands;

/// <summary>Keeps the result of each idempotent command by its id, for repeats.</summary>
public interface IIdempotencyStore
{
    /// <summary>The record for <paramref name="commandId"/>, or null if none is kept.</summary>
    Task<IdempotencyRecord?> FindAsync(Guid commandId, CancellationToken cancellationToken);

    /// <summary>Keeps <paramref name="record"/> unless a record with its id exists; returns the record kept (the first wins).</summary>
    Task<IdempotencyRecord> AddAsync(IdempotencyRecord record, CancellationToken cancellationToken);
}

/// <summary>The kept result of an idempotent command.</summary>
/// <param name="CommandId">The command id (idempotency key).</param>
/// <param name="CommandType">The command type's name.</param>
/// <param name="Fingerprint">A hash of the command's payload, to tell a repeat from a reuse of the key.</param>
/// <param name="Response">The handler's response as JSON.</param>
/// <param name="CreatedAt">When the command was first executed.</param>
public sealed record IdempotencyRecord(Guid CommandId, string CommandType, string Fingerprint, string Response, DateTimeOffset CreatedAt);
