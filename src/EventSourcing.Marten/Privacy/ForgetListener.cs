using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace EventSourcing.Marten.Privacy;

/// <summary>
/// One connection per process LISTENs for the forgets of every process (<see cref="Channel"/>, notified in the forget's
/// own transaction) and hands each forgotten subject to the subscribers. To know how current that news is, it also sends
/// itself a notification every quarter of the bound on a channel of its own: PostgreSQL delivers notifications in commit
/// order, so once its own heartbeat is back, every forget committed before the heartbeat was sent has been delivered.
/// After a lost connection it listens again and tells the subscribers to drop everything (news may have been missed).
/// </summary>
internal sealed partial class ForgetListener : IAsyncDisposable
{
    /// <summary>The channel every forget notifies, with the subject as payload.</summary>
    internal const string Channel = "es_subject_forgotten";

    private readonly Func<NpgsqlConnection> _connect;
    private readonly TimeSpan _bound;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly string _heartbeatChannel = $"es_heartbeat_{Guid.NewGuid():N}";
    private readonly ConcurrentDictionary<long, long> _sent = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _startLock = new();
    private ImmutableList<Action<string?>> _subscribers = [];
    private Task? _loop;
    private long _delivered;
    private long _heartbeats;

    public ForgetListener(Func<NpgsqlConnection> connect, TimeSpan bound, TimeProvider timeProvider, ILogger logger)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(bound, TimeSpan.Zero);
        _connect = connect;
        _bound = bound;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    public TimeSpan Bound => _bound;

    /// <summary>The send time of the last heartbeat heard back: every forget committed before it has been delivered.</summary>
    public long? DeliveredBefore => Interlocked.Read(ref _delivered) is var delivered and not 0 ? delivered : null;

    public IDisposable Subscribe(Action<string?> forgotten)
    {
        ArgumentNullException.ThrowIfNull(forgotten);
        ImmutableInterlocked.Update(ref _subscribers, static (list, item) => list.Add(item), forgotten);
        lock (_startLock)
        {
            _loop ??= Task.Run(ListenAsync);
        }

        return new Unsubscriber(this, forgotten);
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
        var interval = _bound / 4;
        var failures = 0;
        while (!token.IsCancellationRequested)
        {
            try
            {
                var connection = _connect();
                await using var disposeConnection = connection.ConfigureAwait(false);
                await connection.OpenAsync(token).ConfigureAwait(false);
                connection.Notification += (_, e) => OnNotification(e.Channel, e.Payload);
                await ExecuteAsync(connection, $"LISTEN {Channel}; LISTEN {_heartbeatChannel}", token).ConfigureAwait(false);
                Publish(null); // forgets committed while not listening were not heard
                if (failures > 0)
                {
                    LogListening(_logger, Channel);
                }

                failures = 0;
                while (true)
                {
                    var number = Interlocked.Increment(ref _heartbeats);
                    _sent[number] = _timeProvider.GetTimestamp(); // taken before the heartbeat is sent, so before it commits
                    await ExecuteAsync(connection, $"select pg_notify('{_heartbeatChannel}', '{number.ToString(CultureInfo.InvariantCulture)}')", token).ConfigureAwait(false);
                    var due = _timeProvider.GetTimestamp() + (long)(interval.TotalSeconds * _timeProvider.TimestampFrequency);
                    while (_timeProvider.GetTimestamp() < due)
                    {
                        var left = TimeSpan.FromSeconds((due - _timeProvider.GetTimestamp()) / (double)_timeProvider.TimestampFrequency);
                        await connection.WaitAsync(left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1), token).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception)
            {
                if (failures++ == 0)
                {
                    LogListenFailed(_logger, exception, Channel);
                }

                try
                {
                    await Task.Delay(interval, _timeProvider, token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        var command = new NpgsqlCommand(sql, connection) { CommandTimeout = Math.Max(1, (int)Math.Ceiling(_bound.TotalSeconds)) };
        await using var dispose = command.ConfigureAwait(false);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private void OnNotification(string channel, string payload)
    {
        if (channel == Channel)
        {
            Publish(payload);
        }
        else if (channel == _heartbeatChannel && long.TryParse(payload, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            foreach (var sent in _sent.Keys.Where(k => k <= number))
            {
                if (_sent.TryRemove(sent, out var at) && sent == number)
                {
                    Interlocked.Exchange(ref _delivered, at);
                }
            }
        }
    }

    private void Publish(string? subject)
    {
        foreach (var subscriber in Volatile.Read(ref _subscribers))
        {
            subscriber(subject);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Listening for forgotten subjects on channel {Channel} failed; cached keys are trusted only briefly until it works again")]
    private static partial void LogListenFailed(ILogger logger, Exception exception, string channel);

    [LoggerMessage(Level = LogLevel.Information, Message = "Listening for forgotten subjects on channel {Channel} again; cached keys were dropped")]
    private static partial void LogListening(ILogger logger, string channel);

    private sealed class Unsubscriber(ForgetListener listener, Action<string?> subscriber) : IDisposable
    {
        public void Dispose() => ImmutableInterlocked.Update(ref listener._subscribers, static (list, item) => list.Remove(item), subscriber);
    }
}
