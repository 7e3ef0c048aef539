using EventSourcing.Commands;
using EventSourcing.Events;

namespace EventSourcing.Deciders;

/// <summary>
/// Sends commands to the deciders registered with routes (<c>AddDecider(decider, routes => ...)</c>), without a handler
/// class per command: each command runs through the Mediator pipeline behaviours registered for it (validation, then
/// idempotency, then the application's own, in registration order), then is decided on the stream its route names.
/// </summary>
public interface ICommandSender
{
    /// <summary>
    /// Sends <paramref name="command"/>. A command implementing <see cref="IIdempotentCommand"/> carries its id into the
    /// events' metadata; one implementing <see cref="IVersionedCommand"/> applies only at the version it expects.
    /// </summary>
    /// <exception cref="CommandValidationException">A validator refused the command; nothing was loaded.</exception>
    /// <exception cref="DomainException">The decider refused the command; nothing was stored.</exception>
    /// <exception cref="UnexpectedStreamVersionException">The stream is not at the version the command expects.</exception>
    /// <exception cref="InvalidOperationException">No registered decider has a route for the command's type.</exception>
    Task<CommandResult> SendAsync(IDeciderCommand command, CancellationToken cancellationToken = default);

    /// <summary>
    /// Sends <paramref name="command"/>, stamping its events with <paramref name="metadata"/> (correlation, causation,
    /// user); the command's own id fills <see cref="EventMetadata.CommandId"/> when the metadata has none.
    /// </summary>
    /// <inheritdoc cref="SendAsync(IDeciderCommand, CancellationToken)" path="/exception"/>
    Task<CommandResult> SendAsync(IDeciderCommand command, EventMetadata metadata, CancellationToken cancellationToken = default);
}
