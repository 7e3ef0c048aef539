using EventSourcing.Privacy;

namespace EventSourcing.Core.Tests.Privacy;

/// <summary>
/// A key store around an <see cref="InMemoryKeyStore"/> that counts the look-ups a protector makes, and can hold one of
/// them between reading the row and answering (<see cref="HoldNextRead"/>): what a slow store, a GC pause or a lock
/// wait looks like from the protector's side.
/// </summary>
internal class KeyStoreProbe(InMemoryKeyStore inner) : IKeyStore
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private ReadHold? _hold;
    private int _finds;
    private int _creates;

    public InMemoryKeyStore Inner => inner;

    /// <summary>Find and FindAsync calls so far.</summary>
    public int Finds => Volatile.Read(ref _finds);

    /// <summary>GetOrCreate and GetOrCreateAsync calls so far.</summary>
    public int Creates => Volatile.Read(ref _creates);

    /// <summary>All look-ups so far.</summary>
    public int Reads => Finds + Creates;

    /// <summary>The next look-up reads the row, then waits for the hold's release before it answers.</summary>
    public ReadHold HoldNextRead()
    {
        var hold = new ReadHold();
        Assert.Null(Interlocked.CompareExchange(ref _hold, hold, null));
        return hold;
    }

    public async Task<byte[]?> FindAsync(string subjectId, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _finds);
        var key = await inner.FindAsync(subjectId, cancellationToken);
        await HeldAsync(cancellationToken);
        return key;
    }

    public byte[]? Find(string subjectId)
    {
        Interlocked.Increment(ref _finds);
        var key = inner.Find(subjectId);
        Held();
        return key;
    }

    public async Task<byte[]> GetOrCreateAsync(string subjectId, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _creates);
        var key = await inner.GetOrCreateAsync(subjectId, cancellationToken);
        await HeldAsync(cancellationToken);
        return key;
    }

    public byte[] GetOrCreate(string subjectId)
    {
        Interlocked.Increment(ref _creates);
        var key = inner.GetOrCreate(subjectId);
        Held();
        return key;
    }

    public Task<bool> DeleteAsync(string subjectId, CancellationToken cancellationToken) => inner.DeleteAsync(subjectId, cancellationToken);

    public Task<int> RewrapAsync(MasterKey newMasterKey, CancellationToken cancellationToken) => inner.RewrapAsync(newMasterKey, cancellationToken);

    private async Task HeldAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _hold, null) is { } hold)
        {
            hold.Reached.TrySetResult();
            await hold.Released.Task.WaitAsync(Patience, cancellationToken);
        }
    }

    private void Held()
    {
        if (Interlocked.Exchange(ref _hold, null) is { } hold)
        {
            hold.Reached.TrySetResult();
            Assert.True(hold.Released.Task.Wait(Patience), "The held read was never released.");
        }
    }
}

/// <summary>One held look-up: <see cref="Reached"/> once it has read the row, answering once <see cref="Released"/> is set.</summary>
internal sealed class ReadHold
{
    public TaskCompletionSource Reached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource Released { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>
/// A key store several processes share, as the protector sees it: the news of forgets (<see cref="IForgetNotifications"/>)
/// is whatever the test makes it: <see cref="DeliveredBefore"/> is set by the test, and <see cref="Publish"/> delivers a
/// forget (or, with null, says that news was missed).
/// </summary>
internal sealed class SharedKeyStoreProbe(InMemoryKeyStore inner, TimeSpan bound) : KeyStoreProbe(inner), IForgetNotifications
{
    private readonly Lock _lock = new();
    private readonly List<Action<string?>> _subscribers = [];
    private long _delivered;

    public TimeSpan PropagationBound => bound;

    public long? DeliveredBefore
    {
        get => Interlocked.Read(ref _delivered) is var delivered and not 0 ? delivered : null;
        set => Interlocked.Exchange(ref _delivered, value ?? 0);
    }

    public IDisposable Subscribe(Action<string?> forgotten)
    {
        lock (_lock)
        {
            _subscribers.Add(forgotten);
        }

        return new Unsubscriber(this, forgotten);
    }

    /// <summary>Delivers the news that <paramref name="subjectId"/> was forgotten (null: news may have been missed).</summary>
    public void Publish(string? subjectId)
    {
        Action<string?>[] subscribers;
        lock (_lock)
        {
            subscribers = [.. _subscribers];
        }

        Assert.NotEmpty(subscribers);
        foreach (var subscriber in subscribers)
        {
            subscriber(subjectId);
        }
    }

    private sealed class Unsubscriber(SharedKeyStoreProbe owner, Action<string?> subscriber) : IDisposable
    {
        public void Dispose()
        {
            lock (owner._lock)
            {
                owner._subscribers.Remove(subscriber);
            }
        }
    }
}
