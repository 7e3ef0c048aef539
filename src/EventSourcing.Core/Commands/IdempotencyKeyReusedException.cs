namespace EventSourcing.Commands;

/// <summary>A command id was sent again with a different payload than the first time. Nothing was executed.</summary>
public sealed class IdempotencyKeyReusedException(Guid commandId, string commandName)
    : Exception($"Command id {commandId} was already used for a {commandName} with a different payload.")
{
    /// <summary>The reused command id.</summary>
    public Guid CommandId { get; } = commandId;

    /// <summary>The command type's name.</summary>
    public string CommandName { get; } = commandName;
}
