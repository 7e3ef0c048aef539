using Microsoft.Extensions.Logging;
using Npgsql;

namespace EventSourcing.Marten.Storage;

/// <summary>
/// One connection that LISTENs on PostgreSQL channels in the background, started by the first <see cref="EnsureStarted"/>,
/// and listens again after a lost connection (a pause of <paramref name="retryPause"/> between tries, the first failure
/// of a run logged as a warning). Notifications go to <paramref name="notified"/> on the connection's reading thread, in
/// commit order. <paramref name="mayHaveMissed"/> runs whenever notifications may have been missed: each time it starts
/// listening (before anything else is heard) and each time the connection fails. <paramref name="whileListening"/>
/// keeps the connection busy until it fails (by default it waits for notifications for ever). Its connection is not
/// pooled (<see cref="SessionConnections.CreateUnpooled"/>): when it is done with one, closing it ends the session and
/// what it listened on.
/// </summary>
internal sealed partial class PostgresListener(
    SessionConnections connections,
    IReadOnlyList<string> channels,
    Action<string, string> notified,
    Action mayHaveMissed,
    ILogger logger,
    TimeProvider timeProvider,
    TimeSpan retryPause,
    Func<NpgsqlConnection, CancellationToken, Task>? whileListening = null) : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _startLock = new();
    private Task? _loop;

    /// <summary>Starts listening, unless it has started already.</summary>
    public void EnsureStarted()
    {
        if (Volatile.Read(ref _loop) is not null)
        {
            return;
        }

        lock (_startLock)
        {
            _loop ??= Task.Run(ListenAsync);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
#pragma warning disable VSTHRD003 // the loop is this object's own task
            await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
#pragma warning restore VSTHRD003
        }

        _stop.Dispose();
    }

    private async Task ListenAsync()
    {
        var token = _stop.Token;
        var failures = 0;
        while (!token.IsCancellationRequested)
        {
            Exception? failure = null;
            var connection = connections.CreateUnpooled();
            try
            {
                await connection.OpenAsync(token).ConfigureAwait(false);
                connection.Notification += (_, e) => notified(e.Channel, e.Payload);
                var listen = new NpgsqlCommand(string.Join("; ", channels.Select(channel => $"LISTEN {channel}")), connection);
                await using (listen.ConfigureAwait(false))
                {
                    await listen.ExecuteNonQueryAsync(token).ConfigureAwait(false);
                }

                mayHaveMissed();
                if (failures > 0)
                {
                    LogListening(logger, channels[0]);
                }

                failures = 0;
                if (whileListening is not null)
                {
                    await whileListening(connection, token).ConfigureAwait(false);
                }

                while (true)
                {
                    await connection.WaitAsync(token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                // stopped
            }
            catch (Exception exception)
            {
                failure = exception;
            }
            finally
            {
                // Not pooled: closing it ends the session, and its LISTENs with it (a pooled one would go on listening, and
                // queueing notifications, for whoever took it next), with no round trip to a server that may not answer.
                await connection.DisposeAsync().ConfigureAwait(false);
            }

            if (failure is null)
            {
                return;
            }

            if (failures++ == 0)
            {
                LogListenFailed(logger, failure, channels[0]);
            }

            mayHaveMissed();
            try
            {
                await Task.Delay(retryPause, timeProvider, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Listening on channel {Channel} failed; trying again")]
    private static partial void LogListenFailed(ILogger logger, Exception exception, string channel);

    [LoggerMessage(Level = LogLevel.Information, Message = "Listening on channel {Channel} again")]
    private static partial void LogListening(ILogger logger, string channel);
}
