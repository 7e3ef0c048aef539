using System.Collections.Concurrent;
using EventSourcing.Commands;
using EventSourcing.Events;
using EventSourcing.Storage;
using Mediator;
using Microsoft.Extensions.DependencyInjection;

namespace EventSourcing.Deciders;

/// <summary>The metadata a command's events carry.</summary>
internal static class CommandMetadata
{
    /// <summary><paramref name="given"/>, with the id of an <see cref="IIdempotentCommand"/> as its command id when it has none.</summary>
    public static EventMetadata Of(object? command, EventMetadata given) =>
        given.CommandId is null && command is IIdempotentCommand { CommandId: var id } && id != Guid.Empty ? given with { CommandId = id } : given;
}

/// <summary>One command type's way to its decider: the stream it names and the handler that decides it.</summary>
internal sealed record CommandRoute(
    Type CommandType,
    Type DeciderCommandType,
    Func<object, string> StreamOf,
    Func<IServiceProvider, object, string, EventMetadata, ExpectedVersion, CancellationToken, Task<CommandResult>> Handle);

/// <summary>The routes of every registered decider, by command type; a start-up error when two deciders route one type.</summary>
internal sealed class CommandRouteTable
{
    private readonly Dictionary<Type, CommandRoute> _routes = [];

    public void Add(CommandRoute route)
    {
        if (_routes.TryGetValue(route.CommandType, out var existing))
        {
            throw new ArgumentException(
                $"Command {route.CommandType.Name} is routed by two deciders (of {existing.DeciderCommandType.Name} and of {route.DeciderCommandType.Name}); a command has one decider.");
        }

        _routes.Add(route.CommandType, route);
    }

    public int Count => _routes.Count;

    public IEnumerable<Type> Types => _routes.Keys;

    /// <summary>The route of <paramref name="type"/>, or of its nearest base type that has one.</summary>
    public CommandRoute? Find(Type type)
    {
        for (var current = type; current is not null; current = current.BaseType)
        {
            if (_routes.TryGetValue(current, out var route))
            {
                return route;
            }
        }

        return null;
    }
}

/// <summary>Runs each command through its pipeline behaviours (resolved once per command type), then its route.</summary>
internal sealed class CommandSender(IServiceProvider services, CommandRouteTable routes) : ICommandSender
{
    private readonly ConcurrentDictionary<Type, CommandPipeline> _pipelines = new();

    public Task<CommandResult> SendAsync(IDeciderCommand command, CancellationToken cancellationToken = default) =>
        SendAsync(command, EventMetadata.Empty, cancellationToken);

    public Task<CommandResult> SendAsync(IDeciderCommand command, EventMetadata metadata, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(metadata);
        var pipeline = _pipelines.GetOrAdd(command.GetType(), Create);
        metadata = CommandMetadata.Of(command, metadata);
        var expected = command is IVersionedCommand { ExpectedVersion: { } version } ? ExpectedVersion.Exact(version) : ExpectedVersion.Any;
        return pipeline.SendAsync(command, metadata, expected, cancellationToken);
    }

    private CommandPipeline Create(Type type)
    {
        var route = routes.Find(type) ?? throw new InvalidOperationException(
            $"No decider handles command {type.Name}: register a route for it with the decider, for example AddDecider(decider, routes => routes.On<{type.Name}>(c => \"stream-id\")).");
        var pipeline = typeof(CommandPipeline<>).MakeGenericType(type);
        return (CommandPipeline)Activator.CreateInstance(pipeline, services, route)!;
    }

    private abstract class CommandPipeline
    {
        public abstract Task<CommandResult> SendAsync(IDeciderCommand command, EventMetadata metadata, ExpectedVersion expected, CancellationToken cancellationToken);
    }

    private sealed class CommandPipeline<T>(IServiceProvider services, CommandRoute route) : CommandPipeline
        where T : IDeciderCommand
    {
        private readonly IPipelineBehavior<T, CommandResult>[] _behaviors = [.. services.GetServices<IPipelineBehavior<T, CommandResult>>()];

        public override Task<CommandResult> SendAsync(IDeciderCommand command, EventMetadata metadata, ExpectedVersion expected, CancellationToken cancellationToken)
        {
            MessageHandlerDelegate<T, CommandResult> next = (message, token) =>
                new ValueTask<CommandResult>(route.Handle(services, message, route.StreamOf(message), metadata, expected, token));
            for (var i = _behaviors.Length - 1; i >= 0; i--)
            {
                var behavior = _behaviors[i];
                var inner = next;
                next = (message, token) => behavior.Handle(message, inner, token);
            }

            return next((T)command, cancellationToken).AsTask();
        }
    }
}
