using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Globalization;
using EventSourcing.Marten.Storage;
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
internal sealed class ForgetListener : IAsyncDisposable
{
    /// <summary>The channel every forget notifies, with the subject as payload.</summary>
    internal const string Channel = "es_subject_forgotten";

    private readonly TimeSpan _bound;
    private readonly TimeProvider _timeProvider;
    private readonly string _heartbeatChannel = $"es_heartbeat_{Guid.NewGuid():N}";
    private readonly ConcurrentDictionary<long, long> _sent = new();
    private readonly PostgresListener _listener;
    private ImmutableList<Action<string?>> _subscribers = [];
    private long _delivered;
    private long _heartbeats;

    public ForgetListener(SessionConnections connections, TimeSpan bound, TimeProvider timeProvider, ILogger logger)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(bound, TimeSpan.Zero);
        _bound = bound;
        _timeProvider = timeProvider;
        _listener = new PostgresListener(connections, [Channel, _heartbeatChannel], OnNotification, () => Publish(null), logger, timeProvider, bound / 4, HeartbeatAsync);
    }

    public TimeSpan Bound => _bound;

    /// <summary>The send time of the last heartbeat heard back: every forget committed before it has been delivered.</summary>
    public long? DeliveredBefore => Interlocked.Read(ref _delivered) is var delivered and not 0 ? delivered : null;

    public IDisposable Subscribe(Action<string?> forgotten)
    {
        ArgumentNullException.ThrowIfNull(forgotten);
        ImmutableInterlocked.Update(ref _subscribers, static (list, item) => list.Add(item), forgotten);
        _listener.EnsureStarted();
        return new Unsubscriber(this, forgotten);
    }

    public ValueTask DisposeAsync() => _listener.DisposeAsync();

    /// <summary>Sends a heartbeat to itself every quarter of the bound, and hears notifications in between, until the connection fails.</summary>
    private async Task HeartbeatAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var interval = _bound / 4;
        while (true)
        {
            var number = Interlocked.Increment(ref _heartbeats);
            _sent[number] = _timeProvider.GetTimestamp(); // taken before the heartbeat is sent, so before it commits
            var command = new NpgsqlCommand($"select pg_notify('{_heartbeatChannel}', '{number.ToString(CultureInfo.InvariantCulture)}')", connection)
            {
                CommandTimeout = Math.Max(1, (int)Math.Ceiling(_bound.TotalSeconds)),
            };
            await using (command.ConfigureAwait(false))
            {
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            var sentAt = _timeProvider.GetTimestamp();
            for (var left = interval; left > TimeSpan.Zero; left = interval - _timeProvider.GetElapsedTime(sentAt))
            {
                // Npgsql waits in whole milliseconds, and for ever when that rounds to 0.
                await connection.WaitAsync(TimeSpan.FromMilliseconds(Math.Max(1, Math.Ceiling(left.TotalMilliseconds))), cancellationToken).ConfigureAwait(false);
            }
        }
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

    private sealed class Unsubscriber(ForgetListener listener, Action<string?> subscriber) : IDisposable
    {
        public void Dispose() => ImmutableInterlocked.Update(ref listener._subscribers, static (list, item) => list.Remove(item), subscriber);
    }
}
