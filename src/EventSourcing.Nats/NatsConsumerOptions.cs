using NATS.Client.Core;

namespace EventSourcing.Nats;

/// <summary>What a <see cref="NatsEventConsumer"/> reads, and how it retries.</summary>
public sealed class NatsConsumerOptions
{
    /// <summary>The NATS server, or a comma-separated list of servers. Defaults to <c>nats://127.0.0.1:4222</c>.</summary>
    public string Url { get; set; } = "nats://127.0.0.1:4222";

    /// <summary>The JetStream stream the transport publishes to (<see cref="NatsTransportOptions.StreamName"/>). Defaults to <c>EVENTSOURCING</c>.</summary>
    public string StreamName { get; set; } = "EVENTSOURCING";

    /// <summary>
    /// The durable consumer's name: JetStream keeps its position under it, so a consumer started again goes on after the
    /// last event it acknowledged. Required; letters, digits, <c>-</c> and <c>_</c>.
    /// </summary>
    public string DurableName { get; set; } = string.Empty;

    /// <summary>
    /// The subject to read, wildcards allowed: one category (<c>eventsourcing.reservation.&gt;</c>), one stream, or all
    /// (<c>eventsourcing.&gt;</c>, the default). <see cref="NatsSubjects.For"/> gives a stream's subject.
    /// </summary>
    public string FilterSubject { get; set; } = "eventsourcing.>";

    /// <summary>
    /// The stored type names to handle (<c>reservation-confirmed.v1</c>); others are acknowledged without calling the
    /// handler. <see langword="null"/>, by default, handles every type.
    /// </summary>
    public IReadOnlyCollection<string>? EventTypes { get; set; }

    /// <summary>
    /// Where a new durable starts: at this stream sequence. Ignored once the durable exists. With neither this nor
    /// <see cref="StartTime"/>, a new durable starts at the first event of the stream.
    /// </summary>
    public ulong? StartSequence { get; set; }

    /// <summary>Where a new durable starts: at the first event JetStream stored at or after this time. Ignored once the durable exists.</summary>
    public DateTimeOffset? StartTime { get; set; }

    /// <summary>How many times an event is handled before the consumer gives up on it (terminates it, and logs an error). Default 5.</summary>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>How long JetStream waits before delivering again an event whose handler threw. Default 1 second.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long JetStream waits for an acknowledgement before delivering the event again (the consumer died while
    /// handling it). A handler must finish within it. Default 30 seconds.
    /// </summary>
    public TimeSpan AckWait { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long to wait before connecting again after the server or the stream could not be reached. Default 2 seconds.</summary>
    public TimeSpan ReconnectDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Adjusts the connection's options (credentials, TLS) after the consumer has set its own. <see langword="null"/> by default.</summary>
    public Func<NatsOpts, NatsOpts>? ConfigureConnection { get; set; }

    internal void Validate()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(Url, nameof(Url));
        ArgumentException.ThrowIfNullOrWhiteSpace(StreamName, nameof(StreamName));
        ArgumentException.ThrowIfNullOrWhiteSpace(DurableName, nameof(DurableName));
        ArgumentException.ThrowIfNullOrWhiteSpace(FilterSubject, nameof(FilterSubject));
        if (!DurableName.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            throw new ArgumentException($"The durable name '{DurableName}' may hold only ASCII letters, digits, '-' and '_'.", nameof(DurableName));
        }

        if (StartSequence is not null && StartTime is not null)
        {
            throw new ArgumentException("Set StartSequence or StartTime, not both.", nameof(StartTime));
        }

        if (StartSequence is 0)
        {
            throw new ArgumentOutOfRangeException(nameof(StartSequence), "A stream's first sequence is 1.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(MaxAttempts, 1, nameof(MaxAttempts));
        ArgumentOutOfRangeException.ThrowIfLessThan(RetryDelay, TimeSpan.Zero, nameof(RetryDelay));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(AckWait, TimeSpan.Zero, nameof(AckWait));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ReconnectDelay, TimeSpan.Zero, nameof(ReconnectDelay));
    }
}
