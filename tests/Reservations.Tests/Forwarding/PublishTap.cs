using System.Globalization;
using System.Threading.Channels;
using EventSourcing.Nats;
using NATS.Client.Core;

namespace Reservations.Tests.Forwarding;

/// <summary>
/// Every publish on the forwarded subjects, as a plain NATS subscriber sees it. JetStream stores an event once and drops
/// a copy sent again with the same <c>Nats-Msg-Id</c>, but a subscriber to the subjects receives every publish: the tap
/// counts what was sent, re-sends included. Each publish carries its reply subject, the acknowledgement inbox of the
/// transport's connection that sent it (<c>_INBOX.{connection}.{n}</c>), so the tap also tells which connection sent it.
/// </summary>
public sealed class PublishTap : IAsyncDisposable
{
    private readonly NatsConnection _connection;
    private readonly INatsSub<byte[]> _subscription;
    private readonly List<Publish> _publishes = [];
    private readonly List<(int Count, TaskCompletionSource Reached)> _waiting = [];
    private readonly Task _reading;

    private PublishTap(NatsConnection connection, INatsSub<byte[]> subscription)
    {
        (_connection, _subscription) = (connection, subscription);
        _reading = Task.Run(ReadAsync, CancellationToken.None);
    }

    /// <summary>How many publishes the tap has seen.</summary>
    public int Count
    {
        get
        {
            lock (_publishes)
            {
                return _publishes.Count;
            }
        }
    }

    /// <summary>Subscribes to <c>{subjectPrefix}.&gt;</c> on the server at <paramref name="url"/>; every publish from then on is kept.</summary>
    public static async Task<PublishTap> StartAsync(string url, string subjectPrefix)
    {
        // Nothing dropped: a full buffer makes the server wait rather than the tap lose a publish.
        var connection = new NatsConnection(new NatsOpts { Url = url, SubPendingChannelFullMode = BoundedChannelFullMode.Wait, HeaderEncoding = System.Text.Encoding.UTF8 });
        try
        {
            var subscription = await connection.SubscribeCoreAsync($"{subjectPrefix}.>", serializer: NatsRawSerializer<byte[]>.Default, cancellationToken: TestContext.Current.CancellationToken);
            await connection.PingAsync(TestContext.Current.CancellationToken); // the server has the subscription
            return new PublishTap(connection, subscription);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>The publishes seen so far, in the order the tap received them.</summary>
    public IReadOnlyList<Publish> Publishes()
    {
        lock (_publishes)
        {
            return [.. _publishes];
        }
    }

    /// <summary>Completes once the tap has seen <paramref name="count"/> publishes.</summary>
    public Task WhenCountAsync(int count)
    {
        lock (_publishes)
        {
            if (_publishes.Count >= count)
            {
                return Task.CompletedTask;
            }

            var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiting.Add((count, reached));
            return reached.Task;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _subscription.DisposeAsync();
        await _connection.DisposeAsync();
        await _reading.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private async Task ReadAsync()
    {
        await foreach (var message in _subscription.Msgs.ReadAllAsync())
        {
            var headers = message.Headers ?? throw new InvalidOperationException($"A publish on {message.Subject} has no headers.");
            var publish = new Publish(
                Guid.Parse(headers["Nats-Msg-Id"].ToString()),
                long.Parse(headers[NatsEventHeaders.Position].ToString(), CultureInfo.InvariantCulture),
                ConnectionOf(message.ReplyTo));
            lock (_publishes)
            {
                _publishes.Add(publish);
                foreach (var waiting in _waiting.Where(w => w.Count <= _publishes.Count).ToList())
                {
                    _waiting.Remove(waiting);
                    waiting.Reached.TrySetResult();
                }
            }
        }
    }

    /// <summary>The transport connection's part of a reply subject <c>_INBOX.{connection}.{n}</c>.</summary>
    private static string ConnectionOf(string? replyTo) =>
        replyTo is { } subject && subject.Split('.') is [_, var connection, _] ? connection : throw new InvalidOperationException($"A publish has the reply subject '{replyTo}'.");
}

/// <summary>One publish the tap saw: the event's id and position, and the transport connection that sent it.</summary>
public sealed record Publish(Guid EventId, long Position, string Connection);
