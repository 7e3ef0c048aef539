using EventSourcing.Forwarding;
using EventSourcing.Tests.Shared.Nats;
using Reservations.Tests.Faults;
using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.Forwarding;

/// <summary>
/// The log (from PostgreSQL) against what the JetStream stream holds (read back as a consumer would), event by event:
/// the events missing from the stream, those stored more than once, those stored after a later event of their stream,
/// and messages that are no event of the log or carry another position, stream or version than the log's.
/// </summary>
public sealed record ForwardedLog(int Events, int Stored, int Lost, int Doubled, int OutOfOrder, int Foreign)
{
    /// <summary>How long the forwarder may take to catch up with the log once the load has stopped.</summary>
    public static readonly TimeSpan CatchUpPatience = TimeSpan.FromSeconds(60);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public bool Exact => (Lost, Doubled, OutOfOrder, Foreign) == (0, 0, 0, 0) && Stored == Events;

    /// <summary>
    /// Waits until the forwarder named <paramref name="forwarder"/> has committed a checkpoint past the last event of the
    /// log and the stream holds as many messages as the log holds events (the log no longer growing), then compares them.
    /// </summary>
    public static async Task<ForwardedLog> WhenCaughtUpAsync(EventLog log, string forwarder, string natsUrl, string streamName)
    {
        ArgumentNullException.ThrowIfNull(log);
        await Eventually.Async(
            async () => (Log: await log.EventsAsync(), Checkpoint: await log.CheckpointOfAsync(forwarder), Stored: await JetStreamReader.CountAsync(natsUrl, streamName, Ct)),
            now => now.Log.Count > 0 && now.Checkpoint >= now.Log[^1].Position && now.Stored >= now.Log.Count,
            "the forwarder to catch up with the log",
            CatchUpPatience,
            TimeSpan.FromMilliseconds(200));
        return Compare(await log.EventsAsync(), await JetStreamReader.ReadAllAsync(natsUrl, streamName, Ct));
    }

    /// <summary>Compares the log's events with the stream's messages, in the stream's order.</summary>
    public static ForwardedLog Compare(IReadOnlyList<LoggedEvent> log, IReadOnlyList<ForwardedEvent> stored)
    {
        ArgumentNullException.ThrowIfNull(log);
        ArgumentNullException.ThrowIfNull(stored);
        var byId = log.ToDictionary(e => e.Id);
        var copies = stored.GroupBy(e => e.EventId).ToDictionary(g => g.Key, g => g.Count());
        var foreign = stored.Count(e => !byId.TryGetValue(e.EventId, out var logged) || (logged.Position, logged.StreamId, logged.Version) != (e.Position, e.StreamId, e.StreamVersion));
        var outOfOrder = 0;
        foreach (var stream in stored.GroupBy(e => e.StreamId))
        {
            var highest = long.MinValue;
            foreach (var version in stream.Select(e => e.StreamVersion))
            {
                outOfOrder += version < highest ? 1 : 0; // stored after a later event of its stream
                highest = Math.Max(highest, version);
            }
        }

        return new ForwardedLog(log.Count, stored.Count, log.Count(e => !copies.ContainsKey(e.Id)), copies.Values.Sum(c => c - 1), outOfOrder, foreign);
    }

    public override string ToString() =>
        $"{Events} events in the log, {Stored} messages in JetStream: {Lost} lost, {Doubled} doubled, {OutOfOrder} out of order in their stream, {Foreign} not the log's";
}
