using EventSourcing.Events;
using EventSourcing.Privacy;
using EventSourcing.Storage;
using JasperFx.Events;
using Marten;

namespace EventSourcing.Marten.Storage;

public sealed partial class MartenEventStore
{
    /// <inheritdoc />
    public async Task<AppendResult> AppendAsync(string streamId, ExpectedVersion expectedVersion, IReadOnlyList<object> events, EventMetadata metadata, CancellationToken cancellationToken = default)
    {
        AppendGuard.StreamId(streamId);
        AppendGuard.Events(events);
        ArgumentNullException.ThrowIfNull(metadata);
        foreach (var @event in events)
        {
            _registry.GetName(@event.GetType()); // an unregistered type fails before anything is sent
        }

        var telemetry = AppendTelemetry.Start(streamId, events.Count, StoreName, ref metadata);
        try
        {
            var result = await GuardedAppendAsync(streamId, expectedVersion, events, metadata, cancellationToken).ConfigureAwait(false);
            telemetry.Succeeded(result);
            return result;
        }
        catch (Exception exception)
        {
            telemetry.Failed(exception);
            throw;
        }
    }

    private async Task<AppendResult> GuardedAppendAsync(string streamId, ExpectedVersion expectedVersion, IReadOnlyList<object> events, EventMetadata metadata, CancellationToken cancellationToken)
    {
        return await MartenErrors.GuardAsync(async cancellationToken =>
        {
            try
            {
                return await AppendOnceAsync(streamId, expectedVersion, events, metadata, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception exception) when (metadata.CommandId is not null && (MartenErrors.IsDuplicateEventId(exception) || MartenErrors.IsConflict(exception)))
            {
                // The command's events may already be stored (a retry after an ambiguous commit): then it is a repeat, not an error.
                var applied = await FindAppliedAsync(streamId, metadata, events.Count, cancellationToken).ConfigureAwait(false);
                if (applied is not null)
                {
                    return applied;
                }

                if (MartenErrors.IsConflict(exception))
                {
                    throw await ConflictAsync(streamId, expectedVersion, exception, cancellationToken).ConfigureAwait(false);
                }

                throw;
            }
            catch (Exception exception) when (MartenErrors.IsConflict(exception))
            {
                throw await ConflictAsync(streamId, expectedVersion, exception, cancellationToken).ConfigureAwait(false);
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    private async Task<AppendResult> AppendOnceAsync(string streamId, ExpectedVersion expectedVersion, IReadOnlyList<object> events, EventMetadata metadata, CancellationToken cancellationToken)
    {
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        if (_protector is not null && !await _protector.PrepareWriteAsync(events.SelectMany(PersonalDataJson.SubjectsOf), cancellationToken).ConfigureAwait(false))
        {
            // A subject of these events was forgotten: writing a real value of theirs fails. Find out now, before Marten
            // takes sequence numbers for the events (a refused append then leaves no hole for readers to wait out).
            foreach (var @event in events)
            {
                _serializer.Serialize(@event);
            }
        }

        var session = _store.LightweightSession();
        await using var disposeSession = session.ConfigureAwait(false);
        // One transaction from the first statement: in rich mode Marten takes the events' sequence numbers before it
        // inserts them (and runs inline projections in between); inside the transaction they are held under its lock,
        // where readers of the log see them as taken (MartenHighWater), however long the projections take.
        await session.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        session.CorrelationId = metadata.CorrelationId;
        session.CausationId = metadata.CausationId;
        session.LastModifiedBy = metadata.User;
        if (metadata.CommandId is { } commandId)
        {
            session.SetHeader(CommandIdHeader, commandId.ToString("D"));
        }

        if (metadata.TraceParent is { } traceParent)
        {
            session.SetHeader(TraceParentHeader, traceParent);
        }

        var wrapped = new object[events.Count];
        for (var i = 0; i < wrapped.Length; i++)
        {
            var @event = session.Events.BuildEvent(events[i]);
            @event.Id = AppendGuard.EventId(metadata, i);
            wrapped[i] = @event;
        }

        StreamAction action;
        if (expectedVersion == ExpectedVersion.NoStream)
        {
            action = session.Events.StartStream(streamId, wrapped);
        }
        else if (expectedVersion.IsExact)
        {
            action = session.Events.Append(streamId, expectedVersion.Value + wrapped.Length, wrapped);
        }
        else
        {
            if (expectedVersion == ExpectedVersion.StreamExists
                && await session.Events.FetchStreamStateAsync(streamId, cancellationToken).ConfigureAwait(false) is null)
            {
                throw new ConcurrencyException(streamId, expectedVersion, 0);
            }

            action = session.Events.Append(streamId, wrapped);
        }

        using (PersonalDataJson.SealPerEvent())
        {
            // Each subject's personal values in an event sealed together: jsonb puts the groups ("#") first for readers.
            await session.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        }

        var last = action.Events[^1];
        return last.Sequence > 0 && last.Version > 0
            ? new AppendResult(streamId, last.Version, last.Sequence)
            : await FindAppliedAsync(streamId, [last.Id], cancellationToken).ConfigureAwait(false) with { AlreadyApplied = false };
    }

    private Task<AppendResult?> FindAppliedAsync(string streamId, EventMetadata metadata, int count, CancellationToken cancellationToken) =>
        FindAppliedOrNullAsync(streamId, [AppendGuard.EventId(metadata, 0), AppendGuard.EventId(metadata, count - 1)], cancellationToken);

    private async Task<AppendResult> FindAppliedAsync(string streamId, Guid[] eventIds, CancellationToken cancellationToken) =>
        await FindAppliedOrNullAsync(streamId, eventIds, cancellationToken).ConfigureAwait(false)
        ?? throw new InvalidOperationException($"Events just appended to stream '{streamId}' were not found.");

    /// <summary>The stored version and position of the last of <paramref name="eventIds"/>, as a repeated append's result.</summary>
    private async Task<AppendResult?> FindAppliedOrNullAsync(string streamId, Guid[] eventIds, CancellationToken cancellationToken)
    {
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var disposeConnection = connection.ConfigureAwait(false);
        var command = connection.CreateCommand();
        await using var disposeCommand = command.ConfigureAwait(false);
        command.CommandText = $"select stream_id, version, seq_id from {_events} where id = any(@ids) order by seq_id desc limit 1";
        command.Parameters.AddWithValue("ids", eventIds);
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var disposeReader = reader.ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        var storedStream = reader.GetString(0);
        return storedStream == streamId
            ? new AppendResult(streamId, reader.GetInt64(1), reader.GetInt64(2), AlreadyApplied: true)
            : throw new InvalidOperationException($"These events were already appended to stream '{storedStream}', not '{streamId}'.");
    }

    private async Task<ConcurrencyException> ConflictAsync(string streamId, ExpectedVersion expectedVersion, Exception exception, CancellationToken cancellationToken)
    {
        long? actual = null;
        try
        {
            var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var disposeConnection = connection.ConfigureAwait(false);
            var command = connection.CreateCommand();
            await using var disposeCommand = command.ConfigureAwait(false);
            command.CommandText = $"select coalesce(max(version), 0) from {_events} where stream_id = @id";
            command.Parameters.AddWithValue("id", streamId);
            actual = (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }
        catch (Exception lookup) when (lookup is not OperationCanceledException)
        {
            LogVersionLookupFailed(_logger, lookup, streamId);
        }

        return new ConcurrencyException(streamId, expectedVersion, actual, exception);
    }

    [Microsoft.Extensions.Logging.LoggerMessage(Level = Microsoft.Extensions.Logging.LogLevel.Warning, Message = "Could not read the version of stream {StreamId} after a conflict")]
    private static partial void LogVersionLookupFailed(Microsoft.Extensions.Logging.ILogger logger, Exception exception, string streamId);
}
