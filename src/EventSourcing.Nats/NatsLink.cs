using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using EventSourcing.Forwarding;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace EventSourcing.Nats;

/// <summary>
/// One connection to NATS over one socket: it never reconnects (a second socket is refused in
/// <see cref="NatsConnection.OnConnectingAsync"/>), so everything published through it reaches the server in the order
/// written, or not at all from the first message lost on. Acknowledgements come back on one inbox subscription, each on
/// its own reply subject. Once the socket is gone the link is broken: its waits fail and the transport opens another.
/// </summary>
internal sealed class NatsLink : IAsyncDisposable
{
    private static readonly NatsRawSerializer<byte[]> Raw = NatsRawSerializer<byte[]>.Default;
    private static readonly NatsRawSerializer<ReadOnlyMemory<byte>> Body = NatsRawSerializer<ReadOnlyMemory<byte>>.Default;

    private readonly NatsConnection _connection;
    private readonly string _inbox;
    private readonly ConcurrentDictionary<long, TaskCompletionSource<PublishAck>> _pending = new();
    private readonly CancellationTokenSource _broken = new();
    private INatsSub<byte[]>? _acks;
    private Task _reader = Task.CompletedTask;
    private int _sockets;
    private long _next;

    private NatsLink(NatsOpts opts)
    {
        _connection = new NatsConnection(opts);
        _inbox = $"{opts.InboxPrefix}.{Guid.NewGuid():N}.";
        _connection.OnConnectingAsync = OnConnectingAsync;
        _connection.ConnectionDisconnected += OnDisconnectedAsync;
    }

    /// <summary>Cancelled when the socket is gone: no acknowledgement will come through this link any more.</summary>
    public CancellationToken Broken => _broken.Token;

    public bool IsBroken => _broken.IsCancellationRequested || _connection.ConnectionState != NatsConnectionState.Open;

    /// <summary>Connects, subscribes to the acknowledgements and creates or updates the stream, all within the ack timeout.</summary>
    public static async Task<NatsLink> OpenAsync(NatsTransportOptions options, NatsOpts opts, CancellationToken cancellationToken)
    {
        var link = new NatsLink(opts);
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(options.AckTimeout);
            await link._connection.ConnectAsync().AsTask().WaitAsync(deadline.Token).ConfigureAwait(false);
            link._acks = await link._connection.SubscribeCoreAsync(link._inbox + "*", serializer: Raw, cancellationToken: deadline.Token).ConfigureAwait(false);
            link._reader = Task.Run(link.ReadAcknowledgementsAsync, CancellationToken.None);
            var jetStream = new NatsJSContext(link._connection);   // its requests time out after opts.RequestTimeout
            var config = new StreamConfig(options.StreamName, [options.SubjectPrefix + ".>"])
            {
                Storage = StreamConfigStorage.File,
                DuplicateWindow = options.DuplicateWindow,
            };
            await jetStream.CreateOrUpdateStreamAsync(config, deadline.Token).ConfigureAwait(false);
            return link;
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            await link.DisposeAsync().ConfigureAwait(false);
            throw new EventTransportUnavailableException(
                $"NATS at {opts.Url} could not be reached, or its JetStream stream {options.StreamName} could not be created or updated, within {options.AckTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s: {exception.Message}",
                exception);
        }
        catch
        {
            await link.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Writes the message to the connection (in the order of the calls, each awaited) with a reply subject of its own, and
    /// returns the acknowledgement it will get.
    /// </summary>
    public async Task<Task<PublishAck>> SendAsync(NatsEventMessage message, CancellationToken cancellationToken)
    {
        var id = Interlocked.Increment(ref _next);
        var acknowledged = new TaskCompletionSource<PublishAck>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = acknowledged;
        try
        {
            await _connection.PublishAsync(
                message.Subject, message.Body, message.Headers, replyTo: _inbox + id.ToString(CultureInfo.InvariantCulture), serializer: Body,
                cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            _pending.TryRemove(id, out _);
            throw;
        }

        return WaitAsync(id, acknowledged);
    }

    public async ValueTask DisposeAsync()
    {
        await _broken.CancelAsync().ConfigureAwait(false);
        _connection.ConnectionDisconnected -= OnDisconnectedAsync;
        try
        {
            await _connection.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is NatsException or OperationCanceledException or ObjectDisposedException or IOException)
        {
            // Closing a connection whose socket is gone can time out: it is closed all the same.
        }

        try
        {
#pragma warning disable VSTHRD003 // the reader is this link's own task
            await _reader.ConfigureAwait(false);
#pragma warning restore VSTHRD003
        }
        catch (Exception exception) when (exception is OperationCanceledException or NatsException or ObjectDisposedException)
        {
            // The subscription ends with the connection.
        }

        foreach (var (_, pending) in _pending)
        {
            pending.TrySetCanceled(_broken.Token);
        }

        _broken.Dispose();
    }

    private async Task<PublishAck> WaitAsync(long id, TaskCompletionSource<PublishAck> acknowledged)
    {
        try
        {
#pragma warning disable VSTHRD003 // the task of a completion source this link made; its reader completes it
            return await acknowledged.Task.ConfigureAwait(false);
#pragma warning restore VSTHRD003
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    private async Task ReadAcknowledgementsAsync()
    {
        await foreach (var reply in _acks!.Msgs.ReadAllAsync(_broken.Token).ConfigureAwait(false))
        {
            if (!long.TryParse(reply.Subject.AsSpan(_inbox.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var id)
                || !_pending.TryGetValue(id, out var acknowledged))
            {
                continue;   // the answer to a publish no one waits for any more
            }

            if (reply.Headers is { Code: 503 })
            {
                acknowledged.TrySetException(new EventTransportUnavailableException(
                    $"No JetStream stream answered on {reply.Subject}: JetStream is not ready, or the stream was deleted."));
                continue;
            }

            try
            {
                acknowledged.TrySetResult(PublishAck.Parse(reply.Data ?? []));
            }
            catch (JsonException exception)
            {
                acknowledged.TrySetException(new EventTransportUnavailableException(
                    $"JetStream answered with something that is not an acknowledgement: {Encoding.UTF8.GetString(reply.Data ?? [])}", exception));
            }
        }
    }

    /// <summary>The first connection goes through; a reconnection is refused, so nothing written for the lost socket is sent on another.</summary>
    private ValueTask<(string Host, int Port)> OnConnectingAsync((string Host, int Port) target)
    {
        if (Interlocked.Increment(ref _sockets) == 1)
        {
            return ValueTask.FromResult(target);
        }

        MarkBroken();
        throw new NatsException("This connection does not reconnect: the transport opens a new one.");
    }

    private ValueTask OnDisconnectedAsync(object? sender, NatsEventArgs args)
    {
        MarkBroken();
        return ValueTask.CompletedTask;
    }

    private void MarkBroken()
    {
        try
        {
            _broken.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Disposed already.
        }
    }
}
