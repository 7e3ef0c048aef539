namespace EventSourcing.Commands;

/// <summary>
/// Keeps one outcome per idempotent command id, across every process that shares the store: a command is claimed before
/// it runs, so concurrent requests with the same id wait for the one that runs, and the payload of the first claim stays
/// bound to the id.
/// </summary>
public interface IIdempotencyStore
{
    /// <summary>
    /// Claims <paramref name="request"/>'s command id (its <see cref="IdempotencyRecord.Response"/> null), waiting while
    /// another claim of the same id is held anywhere. The claim says what was kept before it (<see cref="IdempotencyClaim.Kept"/>);
    /// when nothing was, <paramref name="request"/> is kept from now on, pending. Dispose the claim when done.
    /// </summary>
    Task<IdempotencyClaim> ClaimAsync(IdempotencyRecord request, CancellationToken cancellationToken);
}

/// <summary>
/// A command id held for one execution: until it is disposed, no other claim of the id is granted, in any process (a
/// process that dies lets go of its claims).
/// </summary>
public abstract class IdempotencyClaim : IAsyncDisposable
{
    /// <summary>Creates a claim that found <paramref name="kept"/>.</summary>
    protected IdempotencyClaim(IdempotencyRecord? kept) => Kept = kept;

    /// <summary>
    /// What was kept for the id when the claim was granted: null when nothing was (or it had expired); a record with a
    /// <see cref="IdempotencyRecord.Response"/> when the command completed; one without when an execution of it failed or
    /// died before completing (its payload's fingerprint still binds the id).
    /// </summary>
    public IdempotencyRecord? Kept { get; }

    /// <summary>Keeps <paramref name="response"/> as the command's outcome.</summary>
    public abstract Task CompleteAsync(string response, CancellationToken cancellationToken);

    /// <summary>Lets go of the claim.</summary>
    public abstract ValueTask DisposeAsync();
}

/// <summary>A command id's kept record: the payload's fingerprint and, once the command completed, its result.</summary>
/// <param name="CommandId">The command id (idempotency key).</param>
/// <param name="CommandType">The command type's name.</param>
/// <param name="Fingerprint">A hash of the command's payload, to tell a repeat from a reuse of the key.</param>
/// <param name="Response">The handler's response as JSON; null until the command completed.</param>
/// <param name="CreatedAt">When the command was first claimed.</param>
public sealed record IdempotencyRecord(Guid CommandId, string CommandType, string Fingerprint, string? Response, DateTimeOffset CreatedAt);
