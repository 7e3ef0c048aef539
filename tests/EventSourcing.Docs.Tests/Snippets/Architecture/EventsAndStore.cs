using EventSourcing.Events;
using EventSourcing.Storage;

namespace EventSourcing.Docs.Tests.Snippets.Architecture;

// docs/architecture.md, "Contracts": the event and store contracts as the doc shows them, declared in this namespace
// beside the real ones (EventSourcing.Events, EventSourcing.Storage); ContractTests checks each member against them.
public sealed record EventEnvelope(Guid EventId, string StreamId, long StreamVersion, long Position,
    string EventType, object Data, EventMetadata Metadata, DateTimeOffset Timestamp)
{
    public bool PersonalDataErased { get; init; }
}

public interface IEventWriter
{
    Task<AppendResult> AppendAsync(string streamId, ExpectedVersion expectedVersion, IReadOnlyList<object> events, EventMetadata metadata, CancellationToken cancellationToken = default);
}

public interface IEventReader
{
    IAsyncEnumerable<EventEnvelope> ReadStreamAsync(string streamId, long fromVersion, CancellationToken cancellationToken = default);
    IAsyncEnumerable<EventEnvelope> ReadAllAsync(long fromPosition, CancellationToken cancellationToken = default);
    IAsyncEnumerable<EventEnvelope> SubscribeAllAsync(long fromPosition, CancellationToken cancellationToken = default) => FollowAsync(fromPosition, null, cancellationToken).SelectMany(page => page.Events);
    IAsyncEnumerable<LogPage> FollowAsync(long fromPosition, IReadOnlySet<string>? eventTypes, CancellationToken cancellationToken = default);
    Task<long> ReadHeadPositionAsync(CancellationToken cancellationToken = default);
}

public sealed record LogPage(IReadOnlyList<EventEnvelope> Events, long Through, bool CaughtUp);

public interface IEventStore : IEventReader, IEventWriter;

public sealed record AppendResult(string StreamId, long StreamVersion, long Position, bool AlreadyApplied = false);
