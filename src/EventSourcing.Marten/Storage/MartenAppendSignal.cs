using Marten;
using Microsoft.Extensions.Logging;

namespace EventSourcing.Marten.Storage;

/// <summary>
/// Wakes live subscribers when events are appended anywhere: one connection LISTENs on the channel Marten notifies
/// in every append transaction (<c>UseListenNotifyForEventAppends</c>). Started by the first subscriber; reconnects
/// after a lost connection. Waiters also wake after a fallback interval, so a stale gap is re-examined even when
/// nothing is appended.
/// </summary>
internal sealed class MartenAppendSignal : IAsyncDisposable
{
    internal const string Channel = "mt_events_appended";

    private readonly TimeProvider _timeProvider;
    private readonly PostgresListener _listener;
    private TaskCompletionSource _appended = NewSignal();

    public MartenAppendSignal(IDocumentStore store, ILogger logger, TimeProvider timeProvider)
    {
        _timeProvider = timeProvider;
        _listener = new PostgresListener(SessionConnections.Of(store), [Channel], (_, _) => Signal(), Signal, logger, timeProvider, TimeSpan.FromSeconds(1));
    }

    /// <summary>The signal completed by the next append notification; take it before reading, then await it.</summary>
    public Task NextAppendAsync()
    {
        _listener.EnsureStarted();
        return Volatile.Read(ref _appended).Task;
    }

    /// <summary>Waits for <paramref name="signal"/>, at most <paramref name="fallback"/>.</summary>
    public async Task WaitAsync(Task signal, TimeSpan fallback, CancellationToken cancellationToken)
    {
        try
        {
            await signal.WaitAsync(fallback, _timeProvider, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Nothing appended: look again anyway (a stale gap may have become skippable).
        }
    }

    public ValueTask DisposeAsync() => _listener.DisposeAsync();

    /// <summary>Wakes every waiter: on each append, and whenever appends may have gone unheard (listening again, or failing).</summary>
    private void Signal() => Interlocked.Exchange(ref _appended, NewSignal()).TrySetResult();

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
