using EventSourcing.Events;
using EventSourcing.Privacy;
using EventSourcing.Storage;
using Marten;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace EventSourcing.Marten.Storage;

/// <summary>
/// The event store on PostgreSQL through Marten: events are appended with Marten's event store (string stream
/// keys, quick append, the registry's type names) and read back through the <see cref="IEventSerializer"/>, so aliases,
/// upcasters and errors behave exactly as in every other store. Reading the whole log stops at a high-water mark
/// below which no transaction alive can still commit an event, so a reader never passes a sequence number that a
/// transaction in flight, however stalled, may fill (see docs/marten.md).
/// </summary>
public sealed partial class MartenEventStore : IEventStore, IAsyncDisposable
{
    internal const string CommandIdHeader = "command-id";

    /// <summary>The header holding the W3C <c>traceparent</c> of the span that appended the event.</summary>
    internal const string TraceParentHeader = "traceparent";

    /// <summary>The store's name in telemetry (<c>db.system.name</c>).</summary>
    private const string StoreName = "postgresql";

    private readonly IDocumentStore _store;
    private readonly IEventSerializer _serializer;
    private readonly EventTypeRegistry _registry;
    private readonly MartenHighWater _highWater;
    private readonly MartenAppendSignal _appended;
    private readonly MartenStoreOptions _options;
    private readonly PersonalDataProtector? _protector;
    private readonly ILogger _logger;
    private readonly string _events;
    private int _disposed;
    private readonly string _streams;

    /// <summary>Creates the store over a Marten document store configured by <see cref="Hosting.MartenConventions"/>.</summary>
    public MartenEventStore(
        IDocumentStore store,
        IEventSerializer serializer,
        EventTypeRegistry registry,
        MartenStoreOptions? options = null,
        ILogger<MartenEventStore>? logger = null,
        TimeProvider? timeProvider = null,
        PersonalDataProtector? protector = null)
    {
        _protector = protector;
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _serializer = serializer ?? throw new ArgumentNullException(nameof(serializer));
        _registry = registry ?? throw new ArgumentNullException(nameof(registry));
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        var schema = store.Options.Events.DatabaseSchemaName;
        _events = $"{schema}.mt_events";
        _streams = $"{schema}.mt_streams";
        _options = options ?? new MartenStoreOptions();
        timeProvider ??= TimeProvider.System;
        _highWater = new MartenHighWater(store, timeProvider, _options.StaleGapThreshold, _logger);
        _appended = new MartenAppendSignal(store, _logger, timeProvider);
    }

    /// <inheritdoc />
    public async Task<long> ReadHeadPositionAsync(CancellationToken cancellationToken = default) =>
        await MartenErrors.GuardAsync(async cancellationToken =>
        {
            await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
            return await _highWater.DetectAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);

    /// <summary>Stops listening for appends.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return; // the same instance is registered as reader, writer and store
        }

        await _appended.DisposeAsync().ConfigureAwait(false);
        _highWater.Dispose();
    }

    private Task EnsureSchemaAsync(CancellationToken cancellationToken) => MartenSchema.For(_store).EnsureAsync(_logger, cancellationToken);

    private async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        var connection = _store.Storage.Database.CreateConnection();
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
