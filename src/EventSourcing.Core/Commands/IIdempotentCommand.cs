namespace EventSourcing.Commands;

/// <summary>
/// A command that carries its own id (for example from an HTTP <c>Idempotency-Key</c> header). The same id sent
/// again with the same payload returns the first result and stores nothing new; with another payload it fails with
/// <see cref="IdempotencyKeyReusedException"/>. An empty id opts out.
/// </summary>
public interface IIdempotentCommand
{
    /// <summary>The command's id: the idempotency key.</summary>
    Guid CommandId { get; }
}
