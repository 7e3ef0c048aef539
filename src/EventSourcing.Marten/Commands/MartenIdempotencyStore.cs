using EventSourcing.Commands;
using EventSourcing.Marten.Storage;
using Marten;
using Microsoft.Extensions.Options;

namespace EventSourcing.Marten.Commands;

/// <summary>Idempotency records as Marten documents, shared by every node; the first record for a command id wins.</summary>
public sealed class MartenIdempotencyStore(IDocumentStore store, IOptions<IdempotencyOptions>? options = null, TimeProvider? timeProvider = null) : IIdempotencyStore
{
    private readonly TimeSpan _retention = (options?.Value ?? new IdempotencyOptions()).Retention;
    private readonly TimeProvider _timeProvider = timeProvider ?? TimeProvider.System;

    /// <inheritdoc />
    public Task<IdempotencyRecord?> FindAsync(Guid commandId, CancellationToken cancellationToken) => MartenErrors.GuardAsync(async () =>
    {
        var session = store.QuerySession();
        await using var dispose = session.ConfigureAwait(false);
        var document = await session.LoadAsync<IdempotencyDocument>(commandId, cancellationToken).ConfigureAwait(false);
        return document is null || _timeProvider.GetUtcNow() - document.CreatedAt > _retention ? null : document.ToRecord();
    }, cancellationToken);

    /// <inheritdoc />
    public Task<IdempotencyRecord> AddAsync(IdempotencyRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        return MartenErrors.GuardAsync(() => AddOnceAsync(record, cancellationToken), cancellationToken);
    }

    private async Task<IdempotencyRecord> AddOnceAsync(IdempotencyRecord record, CancellationToken cancellationToken)
    {
        var session = store.LightweightSession();
        await using (session.ConfigureAwait(false))
        {
            session.Insert(IdempotencyDocument.From(record));
            try
            {
                await session.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
                return record;
            }
            catch (Exception exception) when (exception.GetType().Name is "DocumentAlreadyExistsException" or "MartenCommandException" && !MartenErrors.IsUnavailable(exception))
            {
                // another node recorded this command first: its record wins
            }
        }

        return await FindAsync(record.CommandId, cancellationToken).ConfigureAwait(false) ?? record;
    }
}

/// <summary>How an idempotency record is stored in Marten.</summary>
public sealed class IdempotencyDocument
{
    /// <summary>The command id.</summary>
    public Guid Id { get; set; }

    /// <summary>The command type's name.</summary>
    public string CommandType { get; set; } = string.Empty;

    /// <summary>The hash of the command's payload.</summary>
    public string Fingerprint { get; set; } = string.Empty;

    /// <summary>The handler's response as JSON (personal data in it already encrypted).</summary>
    public string Response { get; set; } = string.Empty;

    /// <summary>When the command was first executed.</summary>
    public DateTimeOffset CreatedAt { get; set; }

    internal static IdempotencyDocument From(IdempotencyRecord record) => new()
    {
        Id = record.CommandId,
        CommandType = record.CommandType,
        Fingerprint = record.Fingerprint,
        Response = record.Response,
        CreatedAt = record.CreatedAt,
    };

    internal IdempotencyRecord ToRecord() => new(Id, CommandType, Fingerprint, Response, CreatedAt);
}
