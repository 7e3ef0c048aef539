using EventSourcing.Diagnostics;
using EventSourcing.Events;
using EventSourcing.Privacy;
using EventSourcing.Reactors;
using EventSourcing.Storage;

namespace EventSourcing.Forwarding;

/// <summary>
/// The forwarder: a follower of the log on the reactors' machinery (checkpointed, gap-safe, one process at a time with
/// failover) that publishes each page of events, in log order, through the <see cref="IEventTransport"/>. The checkpoint
/// moves past a page only once the transport has acknowledged all of it; after a crash the events since the checkpoint
/// are sent again, and the broker drops them as duplicates by their ids. Each event's JSON is written as the stores
/// write it: personal values sealed under their subject's key, so forgetting the subject shreds the forwarded copies too;
/// or, with <see cref="ForwardedPersonalData.Redacted"/>, every personal value written as the erased marker.
/// </summary>
internal sealed class ForwardingReactor(ForwarderOptions options, IEventTransport transport, IEventSerializer serializer, PersonalDataProtector protector) : PageReactor
{
    /// <inheritdoc />
    public override string Name => options.Name;

    /// <inheritdoc />
    public override IReadOnlyCollection<Type>? EventTypes => options.EventTypes;

    /// <inheritdoc />
    public override Task ReactAsync(EventEnvelope envelope, CancellationToken cancellationToken) => ReactToPageAsync([envelope], cancellationToken);

    /// <inheritdoc />
    public override async Task ReactToPageAsync(IReadOnlyList<EventEnvelope> events, CancellationToken cancellationToken)
    {
        using var activity = FollowerTelemetry.StartPage("forward", Telemetry.Forwarder, Name, events);
        var redacted = options.PersonalData == ForwardedPersonalData.Redacted;
        if (!redacted)
        {
            // The subjects' keys loaded ahead, in one pass: the serializer then finds each in the cache.
            await protector.PrepareWriteAsync(events.SelectMany(e => PersonalDataJson.SubjectsOf(e.Data)), cancellationToken).ConfigureAwait(false);
        }

        var forwarded = Serialize(events, redacted);

        try
        {
            await transport.PublishAsync(forwarded, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (activity is not null)
        {
            Telemetry.Fail(activity, exception);
            throw;
        }

        if (Telemetry.ForwardedEvents.Enabled)
        {
            Telemetry.ForwardedEvents.Add(events.Count, new KeyValuePair<string, object?>(Telemetry.FollowerName, Name), new KeyValuePair<string, object?>("eventsourcing.transport", transport.Name));
        }
    }

    /// <summary>The page's events as they leave; serialized on this thread, synchronously, which the redaction's scope needs.</summary>
    private ForwardedEvent[] Serialize(IReadOnlyList<EventEnvelope> events, bool redacted)
    {
        if (!redacted)
        {
            return Serialize(events);
        }

        using (PersonalDataScope.EraseAllWhileWriting())
        {
            return Serialize(events);
        }
    }

    private ForwardedEvent[] Serialize(IReadOnlyList<EventEnvelope> events)
    {
        var forwarded = new ForwardedEvent[events.Count];
        for (var i = 0; i < events.Count; i++)
        {
            var envelope = events[i];
            var serialized = serializer.Serialize(envelope.Data);
            forwarded[i] = new ForwardedEvent(envelope.EventId, envelope.StreamId, envelope.StreamVersion, envelope.Position, envelope.EventType, serialized.Data, envelope.Metadata, envelope.Timestamp);
        }

        return forwarded;
    }

    /// <inheritdoc />
    public override bool IsOutage(Exception exception) => exception is EventTransportUnavailableException;
}
