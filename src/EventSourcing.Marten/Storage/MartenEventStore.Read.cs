using System.Runtime.CompilerServices;
using System.Text;
using EventSourcing.Events;
using EventSourcing.Privacy;
using EventSourcing.Storage;
using Npgsql;

namespace EventSourcing.Marten.Storage;

public sealed partial class MartenEventStore
{
    private const int PageSize = 1_000;
    private const int LogPageSize = 5_000;
    private const string Columns = $"seq_id, id, stream_id, version, type, data, timestamp, correlation_id, causation_id, headers ->> '{CommandIdHeader}', user_name, headers ->> '{TraceParentHeader}'";

    /// <inheritdoc />
    public async IAsyncEnumerable<EventEnvelope> ReadStreamAsync(string streamId, long fromVersion, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        AppendGuard.StreamId(streamId);
        ArgumentOutOfRangeException.ThrowIfNegative(fromVersion);
        var next = fromVersion;
        while (true)
        {
            var page = await MartenErrors.GuardAsync(cancellationToken => ReadPageAsync($"stream_id = @stream and version >= @from order by version", PageSize, unreadableInPlace: false, command =>
            {
                command.Parameters.AddWithValue("stream", streamId);
                command.Parameters.AddWithValue("from", next);
            }, cancellationToken), cancellationToken).ConfigureAwait(false);
            foreach (var envelope in page)
            {
                yield return envelope;
            }

            if (page.Count < PageSize)
            {
                yield break;
            }

            next = page[^1].StreamVersion + 1;
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<EventEnvelope> ReadAllAsync(long fromPosition, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fromPosition);
        var ceiling = await ReadHeadPositionAsync(cancellationToken).ConfigureAwait(false);
        await foreach (var envelope in ReadRangeAsync(fromPosition, ceiling, cancellationToken).ConfigureAwait(false))
        {
            yield return envelope;
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<LogPage> FollowAsync(long fromPosition, IReadOnlySet<string>? eventTypes, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fromPosition);
        var types = eventTypes?.ToArray();
        var next = Math.Max(fromPosition, 1);
        while (true)
        {
            // Take the signal before looking: an append after the look completes this very signal.
            var appended = _appended.NextAppendAsync();
            var ceiling = await ReadHeadPositionAsync(cancellationToken).ConfigureAwait(false);
            if (next > ceiling)
            {
                // A hole in view may be proven dead before the fallback interval: look again by then.
                var wait = _highWater.RecheckIn is { } recheck && recheck < _options.SubscriptionFallbackInterval ? recheck : _options.SubscriptionFallbackInterval;
                await _appended.WaitAsync(appended, wait, cancellationToken).ConfigureAwait(false);
                continue;
            }

            await foreach (var page in ReadWindowsAsync(next, ceiling, types, cancellationToken).ConfigureAwait(false))
            {
                yield return page;
            }

            next = ceiling + 1;
        }
    }

    /// <summary>
    /// Reads positions <paramref name="from"/> to <paramref name="ceiling"/> in windows of <see cref="LogPageSize"/> positions:
    /// each query is a bounded range scan of the primary key (a window may hold fewer events where the sequence has gaps).
    /// </summary>
    internal async IAsyncEnumerable<EventEnvelope> ReadRangeAsync(long from, long ceiling, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var page in ReadWindowsAsync(from, ceiling, null, cancellationToken).ConfigureAwait(false))
        {
            foreach (var envelope in page.Events)
            {
                yield return envelope;
            }
        }
    }

    /// <summary>
    /// Positions <paramref name="from"/> to <paramref name="ceiling"/> as pages of <see cref="LogPageSize"/> positions, each
    /// read by one bounded range scan of the primary key (of <paramref name="types"/> only, when given); the last page is caught up.
    /// </summary>
    private async IAsyncEnumerable<LogPage> ReadWindowsAsync(long from, long ceiling, string[]? types, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        for (var next = from; next <= ceiling;)
        {
            var to = Math.Min(ceiling, next + LogPageSize - 1);
            var events = await ReadWindowAsync(next, to, types, cancellationToken).ConfigureAwait(false);
            yield return new LogPage(events, to, CaughtUp: to == ceiling);
            next = to + 1;
        }
    }

    /// <summary>The events at positions <paramref name="from"/> to <paramref name="to"/>, of <paramref name="types"/> only when given (filtered by the server).</summary>
    private Task<List<EventEnvelope>> ReadWindowAsync(long from, long to, string[]? types, CancellationToken cancellationToken) =>
        MartenErrors.GuardAsync(cancellationToken => ReadPageAsync($"seq_id >= @from and seq_id <= @to{(types is null ? string.Empty : " and type = any(@types)")} order by seq_id", LogPageSize, unreadableInPlace: true, command =>
        {
            command.Parameters.AddWithValue("from", from);
            command.Parameters.AddWithValue("to", to);
            if (types is not null)
            {
                command.Parameters.AddWithValue("types", types);
            }
        }, cancellationToken), cancellationToken);

    /// <summary>A page of events; with <paramref name="unreadableInPlace"/> (readers of the whole log) an event that cannot be read comes as <see cref="UnreadableEvent"/>.</summary>
    private async Task<List<EventEnvelope>> ReadPageAsync(string where, int limit, bool unreadableInPlace, Action<NpgsqlCommand> bind, CancellationToken cancellationToken)
    {
        var rows = await ReadRowsAsync(where, limit, bind, cancellationToken).ConfigureAwait(false);
        if (_protector is not null)
        {
            await _protector.PrepareReadAsync(rows.Select(row => (ReadOnlyMemory<byte>)row.Data), cancellationToken).ConfigureAwait(false);
        }

        return unreadableInPlace ? rows.ConvertAll(ToEnvelopeOrUnreadable) : rows.ConvertAll(ToEnvelope);
    }

    private EventEnvelope ToEnvelopeOrUnreadable(StoredRow row)
    {
        try
        {
            return ToEnvelope(row);
        }
        catch (Exception exception) when (UnreadableEvent.IsAbout(exception))
        {
            return new EventEnvelope(row.Id, row.StreamId, row.Version, row.Position, row.Type, new UnreadableEvent(exception), row.Metadata, row.Timestamp);
        }
    }

    private EventEnvelope ToEnvelope(StoredRow row)
    {
        DeserializedEvent data;
        try
        {
            data = _serializer.Deserialize(row.Type, row.Data);
        }
        catch (PersonalDataTamperedException tampered)
        {
            throw new PersonalDataTamperedException($"event {row.Id} ('{row.Type}' at position {row.Position} in stream '{row.StreamId}', {tampered.Location})", tampered);
        }

        return new EventEnvelope(row.Id, row.StreamId, row.Version, row.Position, data.EventType, data.Data, row.Metadata, row.Timestamp)
        {
            PersonalDataErased = data.PersonalDataErased,
        };
    }

    private async Task<List<StoredRow>> ReadRowsAsync(string where, int limit, Action<NpgsqlCommand> bind, CancellationToken cancellationToken)
    {
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var disposeConnection = connection.ConfigureAwait(false);
        var command = connection.CreateCommand();
        await using var disposeCommand = command.ConfigureAwait(false);
        command.CommandText = $"select {Columns} from {_events} where stream_id <> 'mt_tombstone' and {where} limit {limit}";
        bind(command);
        var rows = new List<StoredRow>(limit);
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var disposeReader = reader.ConfigureAwait(false);
        // Rows are read whole (non-sequential access), so the synchronous getters below do no I/O.
#pragma warning disable VSTHRD103
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var metadata = new EventMetadata
            {
                CorrelationId = reader.IsDBNull(7) ? null : reader.GetString(7),
                CausationId = reader.IsDBNull(8) ? null : reader.GetString(8),
                CommandId = !reader.IsDBNull(9) && Guid.TryParse(reader.GetString(9), out var commandId) ? commandId : null,
                User = reader.IsDBNull(10) ? null : reader.GetString(10),
                TraceParent = reader.IsDBNull(11) ? null : reader.GetString(11),
            };
            rows.Add(new StoredRow(reader.GetInt64(0), reader.GetGuid(1), reader.GetString(2), reader.GetInt64(3), reader.GetString(4),
                Encoding.UTF8.GetBytes(reader.GetString(5)), metadata, reader.GetFieldValue<DateTimeOffset>(6)));
        }
#pragma warning restore VSTHRD103

        return rows;
    }

    private sealed record StoredRow(long Position, Guid Id, string StreamId, long Version, string Type, byte[] Data, EventMetadata Metadata, DateTimeOffset Timestamp);
}
