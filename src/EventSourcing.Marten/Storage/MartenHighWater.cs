using Marten;
using Npgsql;

namespace EventSourcing.Marten.Storage;

/// <summary>
/// The highest position below which the log is final: no gap left that a transaction in flight may still fill.
/// Starts from the high-water mark Marten's daemon persists (including the dead gaps it decided to skip) and extends
/// it on demand with Marten's own gap rule: the contiguous run of committed sequence numbers. A gap is skipped only
/// once it has stayed open for <see cref="MartenStoreOptions.StaleGapThreshold"/> and every transaction that was running
/// when it was first seen has ended, which is when a rolled-back or crashed append has left it for good.
/// </summary>
internal sealed class MartenHighWater : IDisposable
{
    private readonly IDocumentStore _store;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _staleGapThreshold;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly string _sql;
    private long _safe;
    private OpenGap? _gap;

    public MartenHighWater(IDocumentStore store, TimeProvider timeProvider, TimeSpan staleGapThreshold)
    {
        _store = store;
        _timeProvider = timeProvider;
        _staleGapThreshold = staleGapThreshold;
        var schema = store.Options.Events.DatabaseSchemaName;
        _sql = $"""
            with mark as (
              select greatest(@start, coalesce((select max(last_seq_id) from {schema}.mt_event_progression where name = 'HighWaterMark'), 0)) as m),
            after as (
              select seq_id, lead(seq_id) over (order by seq_id) as next_seq from {schema}.mt_events, mark where seq_id > mark.m)
            select mark.m,
              (select min(seq_id) from after),
              (select min(seq_id) from after where next_seq - seq_id > 1),
              (select max(seq_id) from after),
              txid_snapshot_xmin(txid_current_snapshot()),
              txid_snapshot_xmax(txid_current_snapshot())
            from mark
            """;
    }

    /// <summary>Detects the mark now.</summary>
    public async Task<long> DetectAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var connection = _store.Storage.Database.CreateConnection();
            await using var disposeConnection = connection.ConfigureAwait(false);
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            for (var skipped = 0; ; skipped++)
            {
                var reading = await ReadAsync(connection, cancellationToken).ConfigureAwait(false);
                var (ceiling, gapAfter) = reading.FirstAfter switch
                {
                    null => (reading.Mark, (long?)null),
                    var first when first != reading.Mark + 1 => (reading.Mark, reading.Mark),
                    _ => (reading.LastBeforeGap ?? reading.Max!.Value, reading.LastBeforeGap),
                };
                _safe = ceiling;
                if (gapAfter is not { } gapStart || skipped > 100 || !IsDead(gapStart + 1, reading))
                {
                    return ceiling;
                }

                _safe = await FirstAfterAsync(connection, gapStart, cancellationToken).ConfigureAwait(false) - 1;
                _gap = null;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose() => _gate.Dispose();

    private bool IsDead(long missing, Reading reading)
    {
        var now = _timeProvider.GetUtcNow();
        if (_gap is not { } gap || gap.Missing != missing)
        {
            _gap = new OpenGap(missing, now, reading.Xmax);
            return false;
        }

        return now - gap.FirstSeen >= _staleGapThreshold && reading.Xmin >= gap.XmaxWhenSeen;
    }

    private async Task<Reading> ReadAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var command = new NpgsqlCommand(_sql, connection);
        await using var disposeCommand = command.ConfigureAwait(false);
        command.Parameters.AddWithValue("start", _safe);
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var disposeReader = reader.ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return new Reading(
            reader.GetInt64(0),
            await reader.IsDBNullAsync(1, cancellationToken).ConfigureAwait(false) ? null : reader.GetInt64(1),
            await reader.IsDBNullAsync(2, cancellationToken).ConfigureAwait(false) ? null : reader.GetInt64(2),
            await reader.IsDBNullAsync(3, cancellationToken).ConfigureAwait(false) ? null : reader.GetInt64(3),
            reader.GetInt64(4),
            reader.GetInt64(5));
    }

    private async Task<long> FirstAfterAsync(NpgsqlConnection connection, long position, CancellationToken cancellationToken)
    {
        var command = new NpgsqlCommand($"select min(seq_id) from {_store.Options.Events.DatabaseSchemaName}.mt_events where seq_id > @position", connection);
        await using var disposeCommand = command.ConfigureAwait(false);
        command.Parameters.AddWithValue("position", position);
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    private sealed record Reading(long Mark, long? FirstAfter, long? LastBeforeGap, long? Max, long Xmin, long Xmax);

    private sealed record OpenGap(long Missing, DateTimeOffset FirstSeen, long XmaxWhenSeen);
}
