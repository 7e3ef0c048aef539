using System.Globalization;
using System.Text;
using EventSourcing.Forwarding;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;

namespace EventSourcing.Nats;

/// <summary>
/// Publishes events to a NATS JetStream stream (<see cref="NatsTransportOptions.StreamName"/>), each on the subject of its
/// stream (<see cref="NatsSubjects"/>) with its event id as <c>Nats-Msg-Id</c>, so JetStream drops a copy published again
/// within the duplicate window. Publishes are pipelined, up to <see cref="NatsTransportOptions.MaxInFlight"/> waiting for
/// their acknowledgement at once.
/// </summary>
/// <remarks>
/// <para>
/// Order per stream: the events of one <see cref="PublishAsync"/> are written to one connection in the order given, and
/// one <see cref="PublishAsync"/> runs at a time. NATS delivers one connection's messages in the order written, and
/// JetStream stores them in the order it receives them, so two events of a stream are stored in the order given. The
/// connection never reconnects by itself: after its socket is lost nothing written for it is sent on another socket, so
/// a later event cannot be stored while an earlier one, lost with the socket, is not; the next call opens a new
/// connection and sends again from the event the forwarder gives first. An event published again is dropped as a
/// duplicate where it was stored already, so it is stored where it first arrived, before any later event of its stream.
/// </para>
/// <para>
/// Failures: an acknowledgement that is an error, one that does not come within
/// <see cref="NatsTransportOptions.AckTimeout"/>, or a connection that is lost or cannot be made, throw
/// <see cref="EventTransportUnavailableException"/> with the cause. One case stays outside the order promise: JetStream
/// refusing an event with an error (for example its storage full) while it stores a later event of the same stream sent
/// behind it; the forwarder then sends the refused event again, and it is stored after the later one.
/// </para>
/// </remarks>
public sealed class NatsJetStreamTransport : IEventTransport, IAsyncDisposable
{
    private readonly NatsTransportOptions _options;
    private readonly NatsOpts _connectionOptions;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly SemaphoreSlim _slots;
    private NatsLink? _link;
    private int _inFlight;
    private int _maxInFlightSeen;
    private int _disposed;

    /// <summary>Creates the transport; it connects on first use.</summary>
    /// <param name="options">Where and how to publish.</param>
    /// <param name="loggerFactory">For the NATS client's logs; none when <see langword="null"/>.</param>
    public NatsJetStreamTransport(NatsTransportOptions options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _slots = new SemaphoreSlim(options.MaxInFlight, options.MaxInFlight);
        var connectionOptions = NatsOpts.Default with
        {
            Url = options.Url,
            Name = "eventsourcing-transport",
            ConnectTimeout = options.AckTimeout,
            RequestTimeout = options.AckTimeout,
            CommandTimeout = options.AckTimeout,
            HeaderEncoding = Encoding.UTF8,
            LoggerFactory = loggerFactory ?? NatsOpts.Default.LoggerFactory,
        };
        _connectionOptions = options.ConfigureConnection?.Invoke(connectionOptions) ?? connectionOptions;
    }

    /// <inheritdoc />
    public string Name => "nats";

    /// <summary>Publishes waiting for their acknowledgement now.</summary>
    internal int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>The most publishes that ever waited for their acknowledgement at once.</summary>
    internal int MaxInFlightSeen => Volatile.Read(ref _maxInFlightSeen);

    /// <summary>
    /// Publishes the events in the order given, pipelined, and returns once JetStream has acknowledged every one (stored,
    /// or dropped as a duplicate of one stored). Calls made at once run one after the other.
    /// </summary>
    /// <param name="events">The events, in log order.</param>
    /// <param name="cancellationToken">Stops publishing and waiting; events sent before may still be stored.</param>
    /// <returns>A task that completes once every event is acknowledged.</returns>
    /// <exception cref="EventTransportUnavailableException">The broker cannot be reached, refused an event, or did not acknowledge within the ack timeout.</exception>
    /// <exception cref="ArgumentException">An event cannot be a NATS message (an empty stream id, a line break in a header value); nothing was published.</exception>
    public async ValueTask PublishAsync(IReadOnlyList<ForwardedEvent> events, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) == 1, this);
        if (events.Count == 0)
        {
            return;
        }

        var messages = events.Select(@event => NatsEventMessage.From(@event, _options.SubjectPrefix)).ToArray();
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var link = await LinkAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await PublishAllAsync(link, messages, cancellationToken).ConfigureAwait(false);
            }
            catch (EventTransportUnavailableException)
            {
                await DropLinkAsync().ConfigureAwait(false);
                throw;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Closes the connection.</summary>
    /// <returns>A task that completes once the connection is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            await DropLinkAsync().ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task PublishAllAsync(NatsLink link, NatsEventMessage[] messages, CancellationToken cancellationToken)
    {
        // Stops sending at the first failure; cancelled as well when the link breaks or the caller cancels.
        using var batch = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, link.Broken);
        var acknowledgements = new List<Task>(messages.Length);
        Exception? failure = null;
        try
        {
            foreach (var message in messages)
            {
                await _slots.WaitAsync(batch.Token).ConfigureAwait(false);
                Task<PublishAck> acknowledged;
                Enter();
                try
                {
                    acknowledged = await link.SendAsync(message, batch.Token).ConfigureAwait(false);
                }
                catch
                {
                    Leave();
                    throw;
                }

                acknowledgements.Add(AwaitAsync(message, acknowledged, batch));
            }
        }
        catch (Exception exception)
        {
            failure = exception;
            await batch.CancelAsync().ConfigureAwait(false);
        }

        // Every acknowledgement awaited (each bounded by the ack timeout), so no slot stays taken; the first failure wins.
        foreach (var acknowledgement in acknowledgements)
        {
            try
            {
                await acknowledgement.ConfigureAwait(false);
            }
            catch (Exception exception)
            {
                failure ??= exception;
                if (exception is not OperationCanceledException && failure is OperationCanceledException && !cancellationToken.IsCancellationRequested)
                {
                    failure = exception;   // the cause, rather than the cancellation it led to
                }
            }
        }

        if (failure is not null)
        {
            throw Translate(failure, link, cancellationToken);
        }
    }

    /// <summary>Waits for one acknowledgement within the ack timeout, frees its slot, and cancels the batch if it failed.</summary>
    private async Task AwaitAsync(NatsEventMessage message, Task<PublishAck> acknowledged, CancellationTokenSource batch)
    {
        try
        {
            var ack = await acknowledged.WaitAsync(_options.AckTimeout, batch.Token).ConfigureAwait(false);
            if (ack.Error is { } error)
            {
                throw new EventTransportUnavailableException($"JetStream refused event {message.EventId} on {message.Subject}: {error}.");
            }
        }
        catch (TimeoutException exception)
        {
            await batch.CancelAsync().ConfigureAwait(false);
            throw new EventTransportUnavailableException(
                $"JetStream did not acknowledge event {message.EventId} on {message.Subject} within {_options.AckTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s.", exception);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            await batch.CancelAsync().ConfigureAwait(false);
            throw;
        }
        finally
        {
            Leave();
        }
    }

    private Exception Translate(Exception failure, NatsLink link, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return new OperationCanceledException(cancellationToken);
        }

        return failure switch
        {
            EventTransportUnavailableException unavailable => unavailable,
            OperationCanceledException when link.Broken.IsCancellationRequested => new EventTransportUnavailableException(
                $"The connection to NATS at {_connectionOptions.Url} was lost before every event was acknowledged.", failure),
            _ => new EventTransportUnavailableException($"Publishing to NATS at {_connectionOptions.Url} failed: {failure.Message}", failure),
        };
    }

    private async Task<NatsLink> LinkAsync(CancellationToken cancellationToken)
    {
        if (_link is { IsBroken: false } link)
        {
            return link;
        }

        await DropLinkAsync().ConfigureAwait(false);
        _link = await NatsLink.OpenAsync(_options, _connectionOptions, cancellationToken).ConfigureAwait(false);
        return _link;
    }

    private async Task DropLinkAsync()
    {
        if (_link is { } link)
        {
            _link = null;
            await link.DisposeAsync().ConfigureAwait(false);
        }
    }

    private void Enter()
    {
        var now = Interlocked.Increment(ref _inFlight);
        var seen = Volatile.Read(ref _maxInFlightSeen);
        while (now > seen && Interlocked.CompareExchange(ref _maxInFlightSeen, now, seen) != seen)
        {
            seen = Volatile.Read(ref _maxInFlightSeen);
        }
    }

    private void Leave()
    {
        Interlocked.Decrement(ref _inFlight);
        _slots.Release();
    }
}
