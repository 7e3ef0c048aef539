using Mediator;

namespace EventSourcing.Commands;

/// <summary>
/// A command a registered decider handles, sent with <see cref="Deciders.ICommandSender"/>: it runs through the same
/// Mediator pipeline behaviours as every other message (validation, idempotency, and the application's own), then
/// reaches its decider's stream without a handler class. Mark the commands' base record with it once.
/// </summary>
public interface IDeciderCommand : IMessage;

/// <summary>
/// A command that applies only when its stream is at the version the caller last read (for example from an HTTP
/// <c>If-Match</c> header); otherwise <see cref="Deciders.UnexpectedStreamVersionException"/>. Null: any version.
/// </summary>
public interface IVersionedCommand
{
    /// <summary>The stream version the command expects, or null for any.</summary>
    long? ExpectedVersion { get; }
}
