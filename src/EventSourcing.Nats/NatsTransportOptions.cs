using NATS.Client.Core;

namespace EventSourcing.Nats;

/// <summary>Where and how <see cref="NatsJetStreamTransport"/> publishes.</summary>
public sealed class NatsTransportOptions
{
    private static readonly System.Buffers.SearchValues<char> NotInStreamName = System.Buffers.SearchValues.Create(" .*>/\\\t");
    private static readonly System.Buffers.SearchValues<char> NotInToken = System.Buffers.SearchValues.Create(" *>\t\r\n");

    /// <summary>The NATS server, or a comma-separated list of servers. Defaults to <c>nats://127.0.0.1:4222</c>.</summary>
    public string Url { get; set; } = "nats://127.0.0.1:4222";

    /// <summary>
    /// The JetStream stream that stores the events, created or updated on first use with the subjects
    /// <c>{SubjectPrefix}.&gt;</c>, file storage and <see cref="DuplicateWindow"/>. Defaults to <c>EVENTSOURCING</c>.
    /// </summary>
    public string StreamName { get; set; } = "EVENTSOURCING";

    /// <summary>
    /// The first token of every subject: an event of stream <c>order-17</c> is published on
    /// <c>{SubjectPrefix}.order.order-17</c> (see <see cref="NatsSubjects"/>). Defaults to <c>eventsourcing</c>.
    /// </summary>
    public string SubjectPrefix { get; set; } = "eventsourcing";

    /// <summary>
    /// How long JetStream remembers a message id: an event published again within it (same event id) is not stored
    /// twice. Defaults to 2 minutes.
    /// </summary>
    public TimeSpan DuplicateWindow { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How many publishes may wait for their acknowledgement at once. Defaults to 256.</summary>
    public int MaxInFlight { get; set; } = 256;

    /// <summary>
    /// How long a publish may wait for its acknowledgement, and a connection or the stream's creation may take, before
    /// the transport reports the broker unavailable. Defaults to 5 seconds.
    /// </summary>
    public TimeSpan AckTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Adjusts the connection's options (credentials, TLS, a logger factory) after the transport has set its own (URL,
    /// timeouts, UTF-8 headers). <see langword="null"/> by default.
    /// </summary>
    public Func<NatsOpts, NatsOpts>? ConfigureConnection { get; set; }

    internal void Validate()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(Url, nameof(Url));
        ArgumentException.ThrowIfNullOrWhiteSpace(StreamName, nameof(StreamName));
        ArgumentException.ThrowIfNullOrWhiteSpace(SubjectPrefix, nameof(SubjectPrefix));
        if (StreamName.AsSpan().IndexOfAny(NotInStreamName) >= 0)
        {
            throw new ArgumentException($"The stream name '{StreamName}' holds a character JetStream does not allow in one (space, '.', '*', '>', '/', '\\').", nameof(StreamName));
        }

        if (SubjectPrefix.Split('.').Any(token => token.Length == 0 || token.AsSpan().IndexOfAny(NotInToken) >= 0))
        {
            throw new ArgumentException($"The subject prefix '{SubjectPrefix}' is not a list of dot-separated NATS subject tokens without wildcards.", nameof(SubjectPrefix));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(MaxInFlight, 1, nameof(MaxInFlight));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(AckTimeout, TimeSpan.Zero, nameof(AckTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(DuplicateWindow, TimeSpan.Zero, nameof(DuplicateWindow));
    }
}
