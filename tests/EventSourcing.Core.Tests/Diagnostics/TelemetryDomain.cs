using EventSourcing.Commands;
using EventSourcing.Deciders;
using EventSourcing.Events;
using EventSourcing.Projections;
using EventSourcing.Reactors;

namespace EventSourcing.Core.Tests.Diagnostics;

/// <summary>A counter that a reactor seals once it is bumped: types of its own, so no other test's measurements mix in.</summary>
public abstract record CounterCommand(string CounterId) : IDeciderCommand;

public sealed record BumpCounter(string CounterId) : CounterCommand(CounterId);

/// <summary>Bumps a counter slowly (2 ms between reading the stream and appending): racing ones conflict.</summary>
public sealed record BumpCounterSlowly(string CounterId) : CounterCommand(CounterId);

public sealed record SealCounter(string CounterId) : CounterCommand(CounterId);

public abstract record CounterEvent;

[EventType("telemetry-counter-bumped.v1")]
public sealed record CounterBumped(int Count) : CounterEvent;

[EventType("telemetry-counter-sealed.v1")]
public sealed record CounterSealed(int Count) : CounterEvent;

public static class Counters
{
    public static readonly Decider<CounterCommand, CounterEvent, int> Decider = new(
        0,
        (count, @event) => @event is CounterBumped bumped ? bumped.Count : count,
        (command, count) => command switch
        {
            BumpCounter => [new CounterBumped(count + 1)],
            BumpCounterSlowly => Slowly([new CounterBumped(count + 1)]),
            SealCounter => [new CounterSealed(count)],
            _ => throw new DomainException("unknown"),
        });

    private static readonly ManualResetEventSlim Never = new(initialState: false);

    private static CounterEvent[] Slowly(CounterEvent[] events)
    {
        Never.Wait(TimeSpan.FromMilliseconds(2)); // the window between reading the stream and appending, widened
        return events;
    }

    public static string StreamOf(string id) => $"telemetrycounter-{id}";

    public static void Register(global::EventSourcing.Hosting.EventSourcingBuilder es) => es
        .AddEvent<CounterBumped>("telemetry-counter-bumped.v1")
        .AddEvent<CounterSealed>("telemetry-counter-sealed.v1")
        .AddDecider(Decider, routes => routes.On<CounterCommand>(c => StreamOf(c.CounterId)));
}

/// <summary>Seals a counter the first time it is bumped, by sending a command.</summary>
public sealed class CounterSealer(ICommandSender commands) : Reactor
{
    public const string ReactorName = "telemetry-sealer";

    public override string Name => ReactorName;

    public override IReadOnlyCollection<Type>? EventTypes => [typeof(CounterBumped)];

    public override async Task ReactAsync(EventEnvelope envelope, CancellationToken cancellationToken)
    {
        if (envelope.Data is CounterBumped { Count: 1 })
        {
            await commands.SendAsync(new SealCounter(envelope.StreamId["telemetrycounter-".Length..]), cancellationToken);
        }
    }
}

public sealed record CounterView(string Id, int Count, bool Sealed);

/// <summary>The counters' views; <see cref="Gate"/> holds it inside <c>Evolve</c> while it is closed.</summary>
public sealed class CounterProjection : Projection<CounterView>
{
    public const string ProjectionName = "telemetry-counters";

    public ManualResetEventSlim Gate { get; } = new(initialState: true);

    public override string Name => ProjectionName;

    public override IEnumerable<string> ViewIds(EventEnvelope envelope) => envelope.Data is CounterEvent ? [envelope.StreamId] : [];

    public override CounterView? Evolve(string id, CounterView? view, EventEnvelope envelope)
    {
        Gate.Wait(TimeSpan.FromSeconds(30));
        return envelope.Data switch
        {
            CounterBumped bumped => new CounterView(id, bumped.Count, view?.Sealed ?? false),
            CounterSealed => (view ?? new CounterView(id, 0, false)) with { Sealed = true },
            _ => view,
        };
    }
}
