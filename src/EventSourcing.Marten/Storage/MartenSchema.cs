using System.Runtime.CompilerServices;
using Marten;
using Microsoft.Extensions.Logging;

namespace EventSourcing.Marten.Storage;

/// <summary>
/// Applies Marten's configured schema (events, documents, the library's <c>es_*</c> tables) once per document store:
/// when the host starts, or else before the first operation that needs it; unless schema creation is off
/// (<c>AutoCreateSchemaObjects</c>, or the JasperFx profile it defaults to, is <c>None</c>: applied ahead of time).
/// </summary>
internal sealed partial class MartenSchema
{
    private static readonly ConditionalWeakTable<IDocumentStore, MartenSchema> Schemas = [];
    private readonly IDocumentStore _store;
    private readonly Lock _lock = new();
    private Task? _applying;
    private volatile bool _ready;

    private MartenSchema(IDocumentStore store) => _store = store;

    public static MartenSchema For(IDocumentStore store) => Schemas.GetValue(store, static s => new MartenSchema(s));

    public Task EnsureAsync(ILogger logger, CancellationToken cancellationToken)
    {
        if (_ready || _store.Options is StoreOptions { AutoCreateSchemaObjects: JasperFx.AutoCreate.None })
        {
            return Task.CompletedTask;
        }

        Task applying;
        lock (_lock)
        {
            applying = _applying ??= ApplyAsync(logger);
        }

        return applying.WaitAsync(cancellationToken);
    }

    private async Task ApplyAsync(ILogger logger)
    {
        try
        {
            for (var attempt = 1; !_ready; attempt++)
            {
                try
                {
                    await _store.Storage.ApplyAllConfiguredChangesToDatabaseAsync().ConfigureAwait(false);
                    _ready = true;
                }
                catch (global::Marten.Exceptions.MartenSchemaException exception) when (attempt < 5)
                {
                    // Another process (or Marten's daemon) is creating the same objects: look again once it is done.
                    LogSchemaRace(logger, exception, attempt);
                    await Task.Delay(TimeSpan.FromMilliseconds(100 * attempt)).ConfigureAwait(false);
                }
            }
        }
        catch
        {
            lock (_lock)
            {
                _applying = null; // let the next operation try again
            }

            throw;
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Applying the schema raced with another writer (attempt {Attempt}); retrying")]
    private static partial void LogSchemaRace(ILogger logger, Exception exception, int attempt);
}
