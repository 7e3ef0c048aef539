using EventSourcing.Commands;

namespace EventSourcing.Deciders;

/// <summary>
/// How the commands of one decider find their stream, given when the decider is registered:
/// <c>AddDecider(decider, routes => routes.On&lt;OpenAccount&gt;(c => $"account-{c.AccountId}"))</c>. A route on a base
/// type serves every command derived from it; a route on a derived type wins over its base's.
/// </summary>
/// <typeparam name="TCommand">The decider's command type.</typeparam>
public sealed class CommandRoutes<TCommand>
    where TCommand : notnull
{
    private readonly List<(Type Type, Func<object, string> StreamOf)> _routes = [];

    internal CommandRoutes()
    {
    }

    internal IReadOnlyList<(Type Type, Func<object, string> StreamOf)> All => _routes;

    /// <summary>Sends <typeparamref name="T"/> (and the commands derived from it) to the stream <paramref name="streamOf"/> names.</summary>
    /// <exception cref="ArgumentException"><typeparamref name="T"/> already has a route.</exception>
    public CommandRoutes<TCommand> On<T>(Func<T, string> streamOf)
        where T : TCommand, IDeciderCommand
    {
        ArgumentNullException.ThrowIfNull(streamOf);
        if (_routes.Exists(route => route.Type == typeof(T)))
        {
            throw new ArgumentException($"Command {typeof(T).Name} already has a route.", nameof(streamOf));
        }

        _routes.Add((typeof(T), command => streamOf((T)command)));
        return this;
    }
}
