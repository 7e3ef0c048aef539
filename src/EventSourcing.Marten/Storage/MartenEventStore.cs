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
/// upcasters and errors behave exactly as in every other store. Reading the whole log stops at Marten's high-water
/// mark, so a reader never passes a sequence gap that a transaction still in flight may fill.
/// </summary>
public sealed partial class MartenEventStore : IEventStore, IAsyncDisposable
{
    internal const string CommandIdHeader = "command-id";

    private readonly IDocumentStore _store;
    private readonly IEventSerializer _serializer;
    private readonly EventTypeRegistry _registry;
    private readonly MartenHighWater _highWater;
    private readonly MartenAppendSignal _appended;
    private readonly MartenStoreOptions _options;
    private readonly PersonalDataProtector? _protector;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _schemaGate = new(1, 1);
    private readonly string _events;
    private volatile bool _schemaReady;
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
        _highWater = new MartenHighWater(store, timeProvider, _options.StaleGapThreshold);
        _appended = new MartenAppendSignal(store, _logger, timeProvider);
    }

    /// <inheritdoc />
    public async Task<long> ReadHeadPositionAsync(CancellationToken cancellationToken) =>
        await GuardAsync(async () =>
        {
            await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
            return await _highWater.DetectAsync(cancellationToken).ConfigureAwait(false);
        }).ConfigureAwait(false);

    /// <summary>Stops listening for appends.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return; // the same instance is registered as reader, writer and store
        }

        await _appended.DisposeAsync().ConfigureAwait(false);
        _highWater.Dispose();
        _schemaGate.Dispose();
    }

    /// <summary>
    /// Applies Marten's configured schema once, before the first operation, unless schema creation is off
    /// (<c>AutoCreateSchemaObjects = None</c>: the schema was applied ahead of time).
    /// </summary>
    private async Task EnsureSchemaAsync(CancellationToken cancellationToken)
    {
        if (_schemaReady || _store.Options is global::Marten.StoreOptions { AutoCreateSchemaObjects: JasperFx.AutoCreate.None })
        {
            return;
        }

        await _schemaGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            for (var attempt = 1; !_schemaReady; attempt++)
            {
                try
                {
                    await _store.Storage.ApplyAllConfiguredChangesToDatabaseAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
                    _schemaReady = true;
                }
                catch (global::Marten.Exceptions.MartenSchemaException exception) when (attempt < 5)
                {
                    // Another process (or Marten's daemon) is creating the same objects: look again once it is done.
                    LogSchemaRace(_logger, exception, attempt);
                    await Task.Delay(TimeSpan.FromMilliseconds(100 * attempt), cancellationToken).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            _schemaGate.Release();
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Applying the schema raced with another writer (attempt {Attempt}); retrying")]
    private static partial void LogSchemaRace(ILogger logger, Exception exception, int attempt);

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
