using System.Collections.Concurrent;
using EventSourcing.Events;
using EventSourcing.Reactors;

namespace EventSourcing.Core.Tests.Reactors;

/// <summary>
/// A reactor that records every call (attempts per position, the positions it handled, the types it was given) and
/// fails as its script says: <c>script(envelope, attempt)</c> returns the exception to throw at that attempt, or null.
/// <c>holdAt(envelope)</c>, when given, returns what the call waits for before it goes on (a command that takes long).
/// </summary>
internal sealed class ScriptedReactor(
    Func<EventEnvelope, int, Exception?>? script = null,
    IReadOnlyCollection<Type>? eventTypes = null,
    string name = "parcels",
    Func<EventEnvelope, Task?>? holdAt = null) : Reactor
{
    private readonly ConcurrentQueue<long> _handled = new();

    public override string Name { get; } = name;

    public override IReadOnlyCollection<Type>? EventTypes { get; } = eventTypes;

    /// <summary>Called on every call, before the script (the bench's signal that something happened).</summary>
    public Action? OnCall { get; set; }

    /// <summary>Calls per position, failed ones included.</summary>
    public ConcurrentDictionary<long, int> Attempts { get; } = new();

    /// <summary>The positions handled (calls that succeeded), in order, repeats included.</summary>
    public IReadOnlyList<long> Handled => [.. _handled];

    /// <summary>The stored type names of the events it was given.</summary>
    public ConcurrentBag<string> Given { get; } = [];

    public int HandledCount => _handled.Count;

    public int AttemptsAt(long position) => Attempts.GetValueOrDefault(position);

    public override async Task ReactAsync(EventEnvelope envelope, CancellationToken cancellationToken)
    {
        var attempt = Attempts.AddOrUpdate(envelope.Position, 1, static (_, n) => n + 1);
        Given.Add(envelope.EventType);
        try
        {
            if (holdAt?.Invoke(envelope) is { } hold)
            {
                await hold.WaitAsync(cancellationToken);
            }

            if (script?.Invoke(envelope, attempt) is { } failure)
            {
                throw failure;
            }

            _handled.Enqueue(envelope.Position);
        }
        finally
        {
            OnCall?.Invoke();
        }
    }
}
