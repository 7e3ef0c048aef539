using EventSourcing.Deciders;
using EventSourcing.Events;
using EventSourcing.Storage;

namespace EventSourcing.Docs.Tests.Snippets.Architecture;

// docs/architecture.md, "Contracts": the real DeciderHandler's methods, called as the doc shows them.
internal static class DeciderHandlerInUse
{
    public static async Task<StreamState<TState>> UseAsync<TCommand, TEvent, TState>(
        DeciderHandler<TCommand, TEvent, TState> handler,
        string streamId,
        TCommand command,
        EventMetadata metadata,
        ExpectedVersion expected,
        CancellationToken cancellationToken)
        where TCommand : notnull
        where TEvent : notnull
    {
        CommandResult result = await handler.HandleAsync(streamId, command, metadata, expected, cancellationToken);
        result = await handler.HandleAsync(streamId, command, metadata, cancellationToken);   // expected: Any
        result = await handler.HandleAsync(streamId, command, cancellationToken);             // metadata: the command id of an IIdempotentCommand
        StreamState<TState> state = await handler.LoadAsync(streamId, cancellationToken);     // the folded state, its version and last position
        return state;
    }
}
