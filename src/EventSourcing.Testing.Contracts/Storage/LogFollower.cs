using System.Diagnostics;
using EventSourcing.Storage;

namespace EventSourcing.Testing.Contracts.Storage;

/// <summary>
/// A live subscriber to the whole log (<see cref="IEventReader.SubscribeAllAsync"/>) that records the position of every
/// event it delivers, for tests of what followers of the log may never do: skip, repeat or reorder a committed event.
/// Waiters wake on each delivery (no polling), and when the subscription fails.
/// </summary>
public sealed class LogFollower : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly List<long> _positions = [];
    private readonly CancellationTokenSource _stop;
    private readonly Task _following;
    private TaskCompletionSource _delivered = NewSignal();

    private LogFollower(string name, IEventReader reader, long fromPosition, CancellationToken cancellationToken)
    {
        Name = name;
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _following = Task.Run(() => FollowAsync(reader, fromPosition, _stop.Token), CancellationToken.None);
    }

    /// <summary>What the test calls this follower in its report.</summary>
    public string Name { get; }

    /// <summary>The positions delivered so far, in delivery order.</summary>
    public IReadOnlyList<long> Positions
    {
        get
        {
            lock (_lock)
            {
                return [.. _positions];
            }
        }
    }

    /// <summary>Why the subscription ended, if it failed.</summary>
    public Exception? Failure { get; private set; }

    /// <summary>Starts following <paramref name="reader"/> from <paramref name="fromPosition"/> until stopped.</summary>
    public static LogFollower Start(string name, IEventReader reader, long fromPosition, CancellationToken cancellationToken) =>
        new(name, reader, fromPosition, cancellationToken);

    /// <summary>Waits until <paramref name="condition"/> holds for the positions delivered; false after <paramref name="timeout"/> or a failure.</summary>
    public async Task<bool> WaitUntilAsync(Func<IReadOnlyList<long>, bool> condition, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var delivered = Volatile.Read(ref _delivered).Task;
            if (condition(Positions))
            {
                return true;
            }

            var remaining = timeout - clock.Elapsed;
            if (Failure is not null || remaining <= TimeSpan.Zero)
            {
                return false;
            }

            try
            {
                await delivered.WaitAsync(remaining);
            }
            catch (TimeoutException)
            {
                return condition(Positions);
            }
        }
    }

    /// <summary>Waits until a position at or past <paramref name="position"/> has been delivered.</summary>
    public Task<bool> WaitForPositionAsync(long position, TimeSpan timeout) =>
        WaitUntilAsync(positions => positions.Count > 0 && positions.Max() >= position, timeout);

    /// <summary>Stops following and returns every position delivered.</summary>
    public async Task<IReadOnlyList<long>> StopAsync()
    {
        await _stop.CancelAsync();
#pragma warning disable VSTHRD003 // the follower started this task itself, in its constructor
        await _following;
#pragma warning restore VSTHRD003
        return Positions;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }

    private async Task FollowAsync(IEventReader reader, long fromPosition, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var envelope in reader.SubscribeAllAsync(fromPosition, cancellationToken))
            {
                lock (_lock)
                {
                    _positions.Add(envelope.Position);
                }

                Interlocked.Exchange(ref _delivered, NewSignal()).TrySetResult();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // stopped
        }
        catch (Exception exception)
        {
            Failure = exception;
            Interlocked.Exchange(ref _delivered, NewSignal()).TrySetResult();
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
