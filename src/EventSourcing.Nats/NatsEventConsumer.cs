using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace EventSourcing.Nats;

/// <summary>
/// A durable JetStream pull consumer over the stream <see cref="NatsJetStreamTransport"/> publishes to. It hands each
/// event of <see cref="NatsConsumerOptions.FilterSubject"/> to a handler, one at a time, in the order JetStream stored
/// them (so each stream's events in their order), and acknowledges it once the handler returns.
/// </summary>
/// <remarks>
/// <para>
/// A handler that throws has its event delivered again after <see cref="NatsConsumerOptions.RetryDelay"/>; the events
/// behind it wait. After <see cref="NatsConsumerOptions.MaxAttempts"/> deliveries the event is terminated (JetStream
/// delivers it no more) and an error is logged. An event whose id the <see cref="IProcessedEvents"/> holds is
/// acknowledged without calling the handler: a redelivery after a lost acknowledgement does nothing twice.
/// </para>
/// <para>
/// JetStream keeps the durable's position (<see cref="NatsConsumerOptions.DurableName"/>): a consumer started again goes
/// on after its last acknowledged event. A new durable starts at the stream's first event, or at
/// <see cref="NatsConsumerOptions.StartSequence"/> or <see cref="NatsConsumerOptions.StartTime"/>. An event in hand when
/// the consumer stops is handed back (delivered again at once).
/// </para>
/// </remarks>
public sealed partial class NatsEventConsumer
{
    private static readonly NatsRawSerializer<byte[]> Raw = NatsRawSerializer<byte[]>.Default;

    private readonly NatsConsumerOptions _options;
    private readonly Func<ReceivedEvent, CancellationToken, Task> _handler;
    private readonly IProcessedEvents _processed;
    private readonly ILogger _logger;
    private readonly NatsOpts _connectionOptions;
    private readonly HashSet<string>? _eventTypes;

    /// <summary>Creates the consumer; it connects when it runs.</summary>
    /// <param name="options">What to read and how to retry; checked here.</param>
    /// <param name="handler">Handles each event; returning acknowledges it, throwing has it delivered again.</param>
    /// <param name="processed">The ids of the events handled; <see cref="InMemoryProcessedEvents"/> when <see langword="null"/>.</param>
    /// <param name="loggerFactory">For the consumer's and the NATS client's logs; none when <see langword="null"/>.</param>
    public NatsEventConsumer(NatsConsumerOptions options, Func<ReceivedEvent, CancellationToken, Task> handler, IProcessedEvents? processed = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(handler);
        options.Validate();
        _options = options;
        _handler = handler;
        _processed = processed ?? new InMemoryProcessedEvents();
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<NatsEventConsumer>();
        _eventTypes = options.EventTypes is { } types ? new HashSet<string>(types, StringComparer.Ordinal) : null;
        var connectionOptions = NatsOpts.Default with
        {
            Url = options.Url,
            Name = $"eventsourcing-consumer-{options.DurableName}",
            HeaderEncoding = Encoding.UTF8,
            LoggerFactory = loggerFactory ?? NatsOpts.Default.LoggerFactory,
        };
        _connectionOptions = options.ConfigureConnection?.Invoke(connectionOptions) ?? connectionOptions;
    }

    /// <summary>
    /// Consumes until <paramref name="cancellationToken"/> is cancelled, then returns. A server or stream that cannot be
    /// reached, or any other failure outside the handler (an acknowledgement, the <see cref="IProcessedEvents"/>), is
    /// waited out: a warning logged, consuming started again after <see cref="NatsConsumerOptions.ReconnectDelay"/>.
    /// </summary>
    /// <param name="cancellationToken">Stops consuming.</param>
    /// <returns>A task that completes once the consumer has stopped.</returns>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var connection = new NatsConnection(_connectionOptions);
                await using var connectionScope = connection.ConfigureAwait(false);
                await connection.ConnectAsync().ConfigureAwait(false);
                var jetStream = new NatsJSContext(connection);
                var consumer = await DurableAsync(jetStream, cancellationToken).ConfigureAwait(false);
                LogStarted(_logger, _options.DurableName, _options.StreamName, _options.FilterSubject);
                var consumeOptions = new NatsJSConsumeOpts { MaxMsgs = 16 };
                await foreach (var message in consumer.ConsumeAsync(Raw, consumeOptions, cancellationToken).ConfigureAwait(false))
                {
                    await HandleAsync(message, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // whatever failed (the server, the stream, the processed-events store), the consumer tries again
            catch (Exception exception)
#pragma warning restore CA1031
            {
                LogUnavailable(_logger, exception, _options.DurableName, _options.ReconnectDelay.TotalSeconds);
                try
                {
                    await Task.Delay(_options.ReconnectDelay, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>The durable as it is, or a new one starting where the options say.</summary>
    private async Task<INatsJSConsumer> DurableAsync(NatsJSContext jetStream, CancellationToken cancellationToken)
    {
        try
        {
            return await jetStream.GetConsumerAsync(_options.StreamName, _options.DurableName, cancellationToken).ConfigureAwait(false);
        }
        catch (NatsJSApiException exception) when (exception.Error.Code == 404 && exception.Error.ErrCode != 10059)
        {
            // No such consumer (the stream exists): created below. A missing stream (10059) is waited for.
        }

        var config = new ConsumerConfig(_options.DurableName)
        {
            FilterSubject = _options.FilterSubject,
            AckPolicy = ConsumerConfigAckPolicy.Explicit,
            AckWait = _options.AckWait,
            MaxAckPending = 1, // one event at a time: a retried event holds up those behind it, so the order is kept
            DeliverPolicy = ConsumerConfigDeliverPolicy.All,
        };
        if (_options.StartSequence is { } sequence)
        {
            config.DeliverPolicy = ConsumerConfigDeliverPolicy.ByStartSequence;
            config.OptStartSeq = sequence;
        }
        else if (_options.StartTime is { } time)
        {
            config.DeliverPolicy = ConsumerConfigDeliverPolicy.ByStartTime;
            config.OptStartTime = time;
        }

        return await jetStream.CreateOrUpdateConsumerAsync(_options.StreamName, config, cancellationToken).ConfigureAwait(false);
    }

    private async Task HandleAsync(INatsJSMsg<byte[]> message, CancellationToken cancellationToken)
    {
        var sequence = message.Metadata?.Sequence.Stream ?? 0;
        var delivery = (int)Math.Min(message.Metadata?.NumDelivered ?? 1, int.MaxValue);
        ReceivedEvent received;
        try
        {
            received = ReceivedEvent.From(message.Headers, message.Data ?? [], sequence, delivery);
        }
        catch (FormatException exception)
        {
            LogUnreadable(_logger, exception, _options.DurableName, sequence, message.Subject);
            await message.AckTerminateAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            return;
        }

        if (_eventTypes is not null && !_eventTypes.Contains(received.EventType))
        {
            await AckAsync(message, cancellationToken).ConfigureAwait(false);
            return;
        }

        try
        {
            if (await _processed.ContainsAsync(received.EventId, cancellationToken).ConfigureAwait(false))
            {
                await AckAsync(message, cancellationToken).ConfigureAwait(false);
                return;
            }

            await _handler(received, cancellationToken).ConfigureAwait(false);
            await _processed.AddAsync(received.EventId, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await HandBackAsync(message).ConfigureAwait(false);
            throw;
        }
        catch (Exception exception)
        {
            if (delivery >= _options.MaxAttempts)
            {
                LogGaveUp(_logger, exception, _options.DurableName, received.EventType, received.StreamId, received.Position, delivery);
                await message.AckTerminateAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            else
            {
                LogRetrying(_logger, exception, _options.DurableName, received.EventType, received.StreamId, received.Position, delivery, _options.RetryDelay.TotalSeconds);
                await message.NakAsync(new AckOpts { NakDelay = _options.RetryDelay }, cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        await AckAsync(message, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Hands the event back on a stop, so that JetStream delivers it again at once rather than after the ack wait.</summary>
    private static async Task HandBackAsync(INatsJSMsg<byte[]> message)
    {
        try
        {
            await message.NakAsync(cancellationToken: CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is NatsException or ObjectDisposedException or OperationCanceledException)
        {
            // The connection is gone: JetStream delivers the event again once the ack wait has passed.
        }
    }

    /// <summary>Acknowledges and waits for JetStream to confirm it: once this returns, the event is not delivered again.</summary>
    private static ValueTask AckAsync(INatsJSMsg<byte[]> message, CancellationToken cancellationToken) =>
        message.AckAsync(new AckOpts { DoubleAck = true }, cancellationToken);

    [LoggerMessage(Level = LogLevel.Information, Message = "Consumer {Durable} reads {Subject} of the JetStream stream {Stream}")]
    private static partial void LogStarted(ILogger logger, string durable, string stream, string subject);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Consumer {Durable} stopped consuming (NATS, its stream or an acknowledgement failed); starting again in {Seconds} s")]
    private static partial void LogUnavailable(ILogger logger, Exception exception, string durable, double seconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Consumer {Durable} terminated the message at sequence {Sequence} on {Subject}: it is not an event the transport published")]
    private static partial void LogUnreadable(ILogger logger, Exception exception, string durable, ulong sequence, string subject);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Consumer {Durable} failed on '{EventType}' of stream '{StreamId}' at position {Position} (delivery {Delivery}); delivered again in {Seconds} s")]
    private static partial void LogRetrying(ILogger logger, Exception exception, string durable, string eventType, string streamId, long position, int delivery, double seconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Consumer {Durable} gave up on '{EventType}' of stream '{StreamId}' at position {Position} after {Delivery} deliveries; JetStream delivers it no more")]
    private static partial void LogGaveUp(ILogger logger, Exception exception, string durable, string eventType, string streamId, long position, int delivery);
}
