using Marten;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace EventSourcing.Marten.Storage;

/// <summary>
/// Wakes live subscribers when events are appended anywhere: one connection LISTENs on the channel Marten notifies
/// in every append transaction (<c>UseListenNotifyForEventAppends</c>). Started by the first subscriber; reconnects
/// after a lost connection. Waiters also wake after a fallback interval, so a stale gap is re-examined even when
/// nothing is appended.
/// </summary>
internal sealed partial class MartenAppendSignal : IAsyncDisposable
{
    internal const string Channel = "mt_events_appended";

    private readonly IDocumentStore _store;
    private readonly ILogger _logger;
    private readonly TimeProvider _timeProvider;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _startLock = new();
    private Task? _listener;
    private TaskCompletionSource _appended = NewSignal();

    public MartenAppendSignal(IDocumentStore store, ILogger logger, TimeProvider timeProvider)
    {
        _store = store;
        _logger = logger;
        _timeProvider = timeProvider;
    }

    /// <summary>The signal completed by the next append notification; take it before reading, then await it.</summary>
    public Task NextAppendAsync()
    {
        EnsureListening();
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

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_listener is not null)
        {
#pragma warning disable VSTHRD003 // the listener is this object's own task
            await _listener.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
#pragma warning restore VSTHRD003
        }

        _stop.Dispose();
    }

    private void EnsureListening()
    {
        if (_listener is not null)
        {
            return;
        }

        lock (_startLock)
        {
            _listener ??= Task.Run(ListenAsync);
        }
    }

    private async Task ListenAsync()
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                var connection = _store.Storage.Database.CreateConnection();
                await using var disposeConnection = connection.ConfigureAwait(false);
                await connection.OpenAsync(token).ConfigureAwait(false);
                connection.Notification += (_, _) => Signal();
                var listen = new NpgsqlCommand($"LISTEN {Channel}", connection);
                await using (listen.ConfigureAwait(false))
                {
                    await listen.ExecuteNonQueryAsync(token).ConfigureAwait(false);
                }

                Signal(); // appends made while (re)connecting were not heard
                while (true)
                {
                    await connection.WaitAsync(token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception)
            {
                LogListenFailed(_logger, exception, Channel);
                Signal();
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), _timeProvider, token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private void Signal() => Interlocked.Exchange(ref _appended, NewSignal()).TrySetResult();

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Listening for appends on channel {Channel} failed; retrying")]
    private static partial void LogListenFailed(ILogger logger, Exception exception, string channel);
}
