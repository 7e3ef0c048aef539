using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using EventSourcing.Events;

namespace EventSourcing.Storage;

/// <summary>
/// The embedded event store: thread-safe, gap-free global positions from 1, lock-free reads, and live
/// subscriptions that wait for the next append instead of polling. Events are kept serialized, exactly as a
/// database would hold them, and read back through the <see cref="IEventSerializer"/>. Nothing survives the process.
/// </summary>
public sealed class InMemoryEventStore : IEventStore, IDisposable
{
    /// <summary>The store's name in telemetry (<c>db.system.name</c>).</summary>
    private const string StoreName = "memory";

    /// <summary>How many positions a page of <see cref="FollowAsync"/> spans at most.</summary>
    private const int PageSize = 1_000;

    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly AppendOnlyList<StoredEvent> _log = new();
    private readonly ConcurrentDictionary<string, AppendOnlyList<StoredEvent>> _streams = new(StringComparer.Ordinal);
    private readonly Dictionary<Guid, StoredEvent> _byEventId = [];
    private readonly IEventSerializer _serializer;
    private readonly TimeProvider _timeProvider;
    private TaskCompletionSource _appended = NewSignal();

    private readonly IAppendParticipant? _participant;

    /// <summary>Creates an empty store.</summary>
    public InMemoryEventStore(IEventSerializer serializer, TimeProvider? timeProvider = null)
        : this(serializer, timeProvider, participant: null)
    {
    }

    /// <summary>Creates an empty store whose appends <paramref name="participant"/> takes part in (the inline projections).</summary>
    internal InMemoryEventStore(IEventSerializer serializer, TimeProvider? timeProvider, IAppendParticipant? participant)
    {
        _serializer = serializer ?? throw new ArgumentNullException(nameof(serializer));
        _timeProvider = timeProvider ?? TimeProvider.System;
        _participant = participant;
    }

    /// <inheritdoc />
    public Task<AppendResult> AppendAsync(string streamId, ExpectedVersion expectedVersion, IReadOnlyList<object> events, EventMetadata metadata, CancellationToken cancellationToken = default)
    {
        AppendGuard.StreamId(streamId);
        AppendGuard.Events(events);
        ArgumentNullException.ThrowIfNull(metadata);
        cancellationToken.ThrowIfCancellationRequested();
        return AppendTelemetry.IsObserved
            ? ObservedAppendAsync(streamId, expectedVersion, events, metadata, cancellationToken)
            : AppendAsync(streamId, expectedVersion, Serialize(events), events, metadata, cancellationToken);
    }

    private async Task<AppendResult> ObservedAppendAsync(string streamId, ExpectedVersion expectedVersion, IReadOnlyList<object> events, EventMetadata metadata, CancellationToken cancellationToken)
    {
        var telemetry = AppendTelemetry.Start(streamId, events.Count, StoreName, ref metadata);
        try
        {
            var result = await AppendAsync(streamId, expectedVersion, Serialize(events), events, metadata, cancellationToken).ConfigureAwait(false);
            telemetry.Succeeded(result);
            return result;
        }
        catch (Exception exception)
        {
            telemetry.Failed(exception);
            throw;
        }
    }

    private SerializedEvent[] Serialize(IReadOnlyList<object> events)
    {
        var serialized = new SerializedEvent[events.Count];
        for (var i = 0; i < events.Count; i++)
        {
            serialized[i] = _serializer.Serialize(events[i]);
        }

        return serialized;
    }

    /// <summary>Stores already serialized events as they are, bypassing the serializer (for tests of reading stored data).</summary>
    internal Task<AppendResult> AppendSerializedAsync(string streamId, ExpectedVersion expectedVersion, IReadOnlyList<SerializedEvent> events, EventMetadata metadata) =>
        AppendAsync(streamId, expectedVersion, events, null, metadata, CancellationToken.None);

    private async Task<AppendResult> AppendAsync(string streamId, ExpectedVersion expectedVersion, IReadOnlyList<SerializedEvent> events, IReadOnlyList<object>? data, EventMetadata metadata, CancellationToken cancellationToken)
    {
        TaskCompletionSource appended;
        AppendResult result;
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var firstId = AppendGuard.EventId(metadata, 0);
            if (metadata.CommandId is not null && _byEventId.TryGetValue(firstId, out var first))
            {
                return Repeat(streamId, first, metadata, events.Count);
            }

            var stream = _streams.GetOrAdd(streamId, static _ => new AppendOnlyList<StoredEvent>());
            var version = (long)stream.Count;
            if (!expectedVersion.IsSatisfiedBy(version))
            {
                throw new ConcurrencyException(streamId, expectedVersion, version);
            }

            var now = _timeProvider.GetUtcNow();
            var position = (long)_log.Count;
            var added = new StoredEvent[events.Count];
            for (var i = 0; i < events.Count; i++)
            {
                var stored = added[i] = new StoredEvent(
                    i == 0 ? firstId : AppendGuard.EventId(metadata, i), streamId, ++version, ++position,
                    events[i].EventType, events[i].Data, metadata, now);
                stream.Add(stored);
                _log.Add(stored);
                _byEventId.Add(stored.EventId, stored);
            }

            try
            {
                if (_participant is { } participant)
                {
                    var envelopes = added.Select((stored, i) => data is null ? ToEnvelope(stored, keep: false) : ToEnvelope(stored, events[i].EventType, data[i])).ToArray();
                    await participant.OnAppendingAsync(this, envelopes, cancellationToken).ConfigureAwait(false);
                }
            }
            catch
            {
                stream.Rollback();
                _log.Rollback();
                foreach (var stored in added)
                {
                    _byEventId.Remove(stored.EventId);
                }

                throw;
            }

            stream.Publish();
            _log.Publish();
            result = new AppendResult(streamId, version, position);
            appended = _appended;
            _appended = NewSignal();
        }
        finally
        {
            _writeLock.Release();
        }

        appended.TrySetResult();
        return result;
    }

    private AppendResult Repeat(string streamId, StoredEvent first, EventMetadata metadata, int count)
    {
        if (first.StreamId != streamId)
        {
            throw new InvalidOperationException($"Command {metadata.CommandId} was already applied to stream '{first.StreamId}', not '{streamId}'.");
        }

        var last = _byEventId.TryGetValue(AppendGuard.EventId(metadata, count - 1), out var found) ? found : first;
        return new AppendResult(streamId, last.StreamVersion, last.Position, AlreadyApplied: true);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<EventEnvelope> ReadStreamAsync(string streamId, long fromVersion, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        AppendGuard.StreamId(streamId);
        ArgumentOutOfRangeException.ThrowIfNegative(fromVersion);
        await Task.CompletedTask.ConfigureAwait(false);
        if (!_streams.TryGetValue(streamId, out var stream))
        {
            yield break;
        }

        var count = stream.Count;
        for (var index = (int)Math.Max(fromVersion - 1, 0); index < count; index++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return ToEnvelope(stream[index], keep: true);
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<EventEnvelope> ReadAllAsync(long fromPosition, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fromPosition);
        await Task.CompletedTask.ConfigureAwait(false);
        var count = _log.Count;
        for (var index = (int)Math.Max(fromPosition - 1, 0); index < count; index++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return ToEnvelopeOrUnreadable(_log[index]);
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<LogPage> FollowAsync(long fromPosition, IReadOnlySet<string>? eventTypes, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fromPosition);
        var next = (int)Math.Max(fromPosition - 1, 0);
        while (true)
        {
            // Take the signal before reading the count: an append after the read completes this very signal.
            var appended = Volatile.Read(ref _appended).Task;
            var count = _log.Count;
            if (next >= count)
            {
                await appended.WaitAsync(cancellationToken).ConfigureAwait(false);
                continue;
            }

            while (next < count)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var end = Math.Min(count, next + PageSize);
                var events = new List<EventEnvelope>();
                for (; next < end; next++)
                {
                    if (eventTypes is null || eventTypes.Contains(_log[next].EventType))
                    {
                        events.Add(ToEnvelopeOrUnreadable(_log[next]));
                    }
                }

                yield return new LogPage(events, next, CaughtUp: next == count);
            }
        }
    }

    /// <summary>
    /// The events of <paramref name="streamId"/> from <paramref name="fromVersion"/>, as <see cref="ReadStreamAsync"/>
    /// gives them but read at once, with no asynchronous enumerator: for decider handlers, which read a stream on every
    /// command. Nothing is allocated when there is no such event.
    /// </summary>
    internal EventEnvelope[] ReadStreamNow(string streamId, long fromVersion, CancellationToken cancellationToken)
    {
        AppendGuard.StreamId(streamId);
        ArgumentOutOfRangeException.ThrowIfNegative(fromVersion);
        cancellationToken.ThrowIfCancellationRequested();
        if (!_streams.TryGetValue(streamId, out var stream))
        {
            return [];
        }

        var from = (int)Math.Max(fromVersion - 1, 0);
        var count = stream.Count;
        if (from >= count)
        {
            return [];
        }

        var events = new EventEnvelope[count - from];
        for (var i = 0; i < events.Length; i++)
        {
            events[i] = ToEnvelope(stream[from + i], keep: true);
        }

        return events;
    }

    /// <summary>The stored bytes of every event, as text: what a database would hold (for tests of what is at rest).</summary>
    internal IEnumerable<string> ReadAtRest()
    {
        var count = _log.Count;
        for (var i = 0; i < count; i++)
        {
            yield return System.Text.Encoding.UTF8.GetString(_log[i].Data);
        }
    }

    /// <summary>Releases the write lock.</summary>
    public void Dispose() => _writeLock.Dispose();

    /// <inheritdoc />
    public Task<long> ReadHeadPositionAsync(CancellationToken cancellationToken = default) => Task.FromResult((long)_log.Count);

    /// <summary>
    /// The stored event as read. Stream reads (deciders loading state, read again on every command) keep it, so it is
    /// deserialized once and then shared, since stored events never change; readers of the whole log use a kept one
    /// but keep none, so a rebuild's memory does not grow with the log. An event holding protected personal data is
    /// never kept: it is decrypted on every read, so that forgetting a subject takes effect at once.
    /// </summary>
    private EventEnvelope ToEnvelope(StoredEvent stored, bool keep)
    {
        if (stored.Read is { } shared)
        {
            return shared;
        }

        DeserializedEvent data;
        try
        {
            data = _serializer.Deserialize(stored.EventType, stored.Data);
        }
        catch (Privacy.PersonalDataTamperedException tampered)
        {
            throw new Privacy.PersonalDataTamperedException($"event {stored.EventId} ('{stored.EventType}' at position {stored.Position} in stream '{stored.StreamId}', {tampered.Location})", tampered);
        }

        var envelope = ToEnvelope(stored, data.EventType, data.Data);
        if (data.PersonalDataErased)
        {
            envelope = envelope with { PersonalDataErased = true };
        }

        if (keep && stored.Shareable)
        {
            stored.Read = envelope; // two readers racing here store equal envelopes; either may win
        }

        return envelope;
    }

    /// <summary>The envelope for a reader of the whole log: an event that cannot be read comes as <see cref="UnreadableEvent"/>.</summary>
    private EventEnvelope ToEnvelopeOrUnreadable(StoredEvent stored)
    {
        try
        {
            return ToEnvelope(stored, keep: false);
        }
        catch (Exception exception) when (UnreadableEvent.IsAbout(exception))
        {
            return ToEnvelope(stored, stored.EventType, new UnreadableEvent(exception));
        }
    }

    private static EventEnvelope ToEnvelope(StoredEvent stored, string eventType, object data) =>
        new(stored.EventId, stored.StreamId, stored.StreamVersion, stored.Position, eventType, data, stored.Metadata, stored.Timestamp);

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private sealed record StoredEvent(Guid EventId, string StreamId, long StreamVersion, long Position, string EventType, byte[] Data, EventMetadata Metadata, DateTimeOffset Timestamp)
    {
        /// <summary>Whether the event may be deserialized once and shared: it holds no protected (or erased) personal value.</summary>
        public bool Shareable { get; } = Data.AsSpan().IndexOf(Privacy.PersonalDataProtector.MarkerUtf8) < 0;

        /// <summary>The event as first read from its stream, when <see cref="Shareable"/>.</summary>
        public EventEnvelope? Read { get; set; }
    }
}
