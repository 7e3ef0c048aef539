using System.Collections.Concurrent;
using EventSourcing.Forwarding;

namespace EventSourcing.Core.Tests.Forwarding;

/// <summary>
/// A broker in memory that keeps each event once by its id (as a broker's duplicate window does), in the order
/// acknowledged, and counts what was offered again. It can be down, or refuse one event every time.
/// </summary>
public sealed class RecordingTransport : IEventTransport
{
    private readonly object _gate = new();
    private readonly List<ForwardedEvent> _stored = [];
    private readonly HashSet<Guid> _ids = [];

    public string Name => "recording";

    /// <summary>While true, every publish fails as a broker that cannot be reached.</summary>
    private volatile bool _down;
    private volatile bool _loseNext;
    private int _outages;

    public bool Down { get => _down; set => _down = value; }

    /// <summary>An event the broker refuses every time (too large, say): not an outage.</summary>
    public Guid? Refused { get; set; }

    public int Duplicates { get; private set; }

    /// <summary>When set, the next publish stores its events and then fails as if the acknowledgement were lost.</summary>
    public bool LoseNextAcknowledgement { get => _loseNext; set => _loseNext = value; }

    public int OutagesMet => Volatile.Read(ref _outages);

    /// <summary>The size of every page handed over, in order.</summary>
    public ConcurrentQueue<int> PageSizes { get; } = new();

    public IReadOnlyList<ForwardedEvent> Stored
    {
        get
        {
            lock (_gate)
            {
                return [.. _stored];
            }
        }
    }

    /// <summary>When set, a broker slower than the log: each publish waits for one permit before the broker takes it.</summary>
    public SemaphoreSlim? Acknowledgements { get; set; }

    /// <summary>Publishes begun.</summary>
    public int Calls => Volatile.Read(ref _calls);

    /// <summary>The most publishes that were ever under way at once.</summary>
    public int MaxConcurrentCalls => Volatile.Read(ref _maxConcurrent);

    private int _calls;
    private int _concurrent;
    private int _maxConcurrent;

    public async ValueTask PublishAsync(IReadOnlyList<ForwardedEvent> events, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _calls);
        PageSizes.Enqueue(events.Count);
        var concurrent = Interlocked.Increment(ref _concurrent);
        int max;
        while (concurrent > (max = Volatile.Read(ref _maxConcurrent)) && Interlocked.CompareExchange(ref _maxConcurrent, concurrent, max) != max)
        {
        }

        try
        {
            if (Acknowledgements is { } acknowledgements)
            {
                await acknowledgements.WaitAsync(cancellationToken);
            }

            Publish(events, cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _concurrent);
        }
    }

    private void Publish(IReadOnlyList<ForwardedEvent> events, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (Down)
        {
            Interlocked.Increment(ref _outages);
            throw new EventTransportUnavailableException("the broker is down");
        }

        lock (_gate)
        {
            foreach (var @event in events)
            {
                if (@event.EventId == Refused)
                {
                    throw new InvalidOperationException("the broker refuses this message");
                }

                if (_ids.Add(@event.EventId))
                {
                    _stored.Add(@event);
                }
                else
                {
                    Duplicates++;
                }
            }
        }

        if (LoseNextAcknowledgement)
        {
            LoseNextAcknowledgement = false;
            throw new EventTransportUnavailableException("stored, but the acknowledgement was lost");
        }
    }
}
