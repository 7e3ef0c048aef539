namespace EventSourcing.Reactors;

/// <summary>The registered reactors and their options.</summary>
public sealed class ReactorCatalog
{
    private readonly Dictionary<Type, ReactorOptions> _options;

    internal ReactorCatalog(IEnumerable<ReactorRegistration> registrations)
    {
        _options = registrations.ToDictionary(r => r.ReactorType, r => r.Options);
        All = [.. _options.Keys];
    }

    /// <summary>The registered reactor types.</summary>
    public IReadOnlyList<Type> All { get; }

    /// <summary>How <paramref name="reactor"/> runs.</summary>
    public ReactorOptions OptionsOf(Reactor reactor) =>
        _options.TryGetValue((reactor ?? throw new ArgumentNullException(nameof(reactor))).GetType(), out var options) ? options : new ReactorOptions();
}

/// <summary>What each reactor is doing in this process, as its runner reports it; waiters wake on every commit.</summary>
internal sealed class ReactorActivity
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, ReactorProgress> _reactors = new(StringComparer.Ordinal);

    /// <summary>The progress of the reactor named <paramref name="reactor"/> in this process.</summary>
    public ReactorProgress For(string reactor) => _reactors.GetOrAdd(reactor, static _ => new ReactorProgress());
}

/// <summary>One reactor's activity in this process.</summary>
internal sealed class ReactorProgress
{
    private volatile string _state = ReactorStates.StandingBy;
    private TaskCompletionSource _committed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _position = -1;
    private int _generation;

    /// <summary>The checkpoint generation it follows here.</summary>
    public int Generation => Volatile.Read(ref _generation);

    /// <summary>What it is doing here: see <see cref="ReactorStates"/>.</summary>
    public string State => _state;

    /// <summary>The checkpoint it last committed here; -1 when it has not run here.</summary>
    public long Position => Interlocked.Read(ref _position);

    /// <summary>Elections that failed in a row (the store away), so that only the first is logged.</summary>
    internal int ElectionFailures { get; set; }

    /// <summary>Whether this process runs the reactor.</summary>
    public bool ActiveHere => _state is not ReactorStates.StandingBy;

    /// <summary>Completes at the next commit (or change of state).</summary>
    public Task NextChangeAsync() => Volatile.Read(ref _committed).Task;

    internal void Running(long position, int generation)
    {
        Volatile.Write(ref _generation, generation);
        Interlocked.Exchange(ref _position, position);
        Set(ReactorStates.Running);
    }

    internal void Healthy()
    {
        if (_state == ReactorStates.Retrying)
        {
            Set(ReactorStates.Running);
        }
    }

    internal void Retrying() => Set(ReactorStates.Retrying);

    internal void Stopped() => Set(ReactorStates.Stopped);

    internal void StandBy() => Set(ReactorStates.StandingBy);

    internal void Committed(long position)
    {
        Interlocked.Exchange(ref _position, position);
        Signal();
    }

    private void Set(string state)
    {
        _state = state;
        Signal();
    }

    private void Signal() => Interlocked.Exchange(ref _committed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
}

/// <summary>The states a reactor's status reports.</summary>
public static class ReactorStates
{
    /// <summary>Running here, following the log.</summary>
    public const string Running = "running";

    /// <summary>Running here, trying an event again (or waiting for the store).</summary>
    public const string Retrying = "retrying";

    /// <summary>Stopped at an event it kept failing on, until replayed (<see cref="Projections.PoisonEventPolicy.Stop"/>).</summary>
    public const string Stopped = "stopped";

    /// <summary>Not running here; another process may be.</summary>
    public const string StandingBy = "standing by";

    /// <summary>No process runs it.</summary>
    public const string NotRunning = "not running";
}
