using System.Diagnostics;
using Marten;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace EventSourcing.Marten.Storage;

/// <summary>
/// The highest position below which the log is final: no sequence number below it that a transaction may still fill.
/// <para>
/// Committed positions without a hole are final as they stand. A hole (a number taken by a transaction that has not
/// committed, or never will) is passed only on proof that no transaction that may still fill it is alive: every number
/// below the highest position visible in a reading was taken before that reading, by a transaction that began before
/// it and that holds a lock on the events sequence until it ends (PostgreSQL's <c>nextval</c> keeps that lock to the end
/// of the transaction). When a later look at <c>pg_locks</c> finds no such transaction that began before the reading,
/// every number below that position has either committed (and is visible to every later read) or is lost for good, so
/// the mark moves to that position. However long a transaction stalls, and whether or not it has written anything yet,
/// the mark waits for it. See docs/marten.md.
/// </para>
/// </summary>
internal sealed partial class MartenHighWater : IDisposable
{
    /// <summary>How many positions after the mark one reading looks at for holes (a bounded range scan of the primary key).</summary>
    internal const int Window = 10_000;

    /// <summary>How long a hole may be held by live transactions before a warning names them.</summary>
    private static readonly TimeSpan HeldWarning = TimeSpan.FromSeconds(10);

    private readonly IDocumentStore _store;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _staleGapThreshold;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly string _readingSql;
    private readonly string _probeSql;
    private long _safe;
    private Hole? _hole;

    public MartenHighWater(IDocumentStore store, TimeProvider timeProvider, TimeSpan staleGapThreshold, ILogger logger)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(staleGapThreshold, TimeSpan.Zero);
        _store = store;
        _timeProvider = timeProvider;
        _staleGapThreshold = staleGapThreshold;
        _logger = logger;
        var schema = store.Options.Events.DatabaseSchemaName;
        // One statement, so one snapshot: the run after the mark, the highest visible position and the moment of the
        // reading (clock_timestamp() is evaluated after the snapshot is taken) all agree.
        _readingSql = $"""
            with run as (
              select seq_id, lead(seq_id) over (order by seq_id) as next_seq
              from (select seq_id from {schema}.mt_events where seq_id > @start order by seq_id limit {Window}) as w)
            select
              (select min(seq_id) from run),
              (select min(seq_id) from run where next_seq - seq_id > 1),
              (select max(seq_id) from run),
              (select max(seq_id) from {schema}.mt_events),
              clock_timestamp()
            """;
        // Transactions that took numbers of the events sequence and may still insert them: they hold a lock on the
        // sequence until they end. Only those that began at or before the reading can hold a number below its highest
        // position. A transaction whose start this role cannot see (another role's, without pg_read_all_stats) or a
        // prepared one (no backend) counts as alive.
        _probeSql = $"""
            select l.pid, a.application_name, a.state, a.xact_start
            from pg_locks l left join pg_stat_activity a on a.pid = l.pid
            where l.locktype = 'relation' and l.granted
              and l.database = (select oid from pg_database where datname = current_database())
              and l.relation = '{schema}.mt_events_sequence'::regclass
              and l.pid is distinct from pg_backend_pid()
              and (a.xact_start is null or a.xact_start <= @seen)
            """;
    }

    /// <summary>When the hole in view may next be proven dead; null when there is none. Live followers look again by then.</summary>
    public TimeSpan? RecheckIn
    {
        get
        {
            var hole = Volatile.Read(ref _hole);
            if (hole is null)
            {
                return null;
            }

            var remaining = _staleGapThreshold - _timeProvider.GetElapsedTime(hole.SeenAt);
            return remaining > TimeSpan.Zero ? remaining : _staleGapThreshold;
        }
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
            while (true)
            {
                var reading = await ReadAsync(connection, cancellationToken).ConfigureAwait(false);
                _safe = Math.Max(_safe, reading.Ceiling(_safe));
                if (reading.Max is not { } max || max <= _safe)
                {
                    _hole = null;
                    return _safe;
                }

                if (reading.WindowFull)
                {
                    continue; // the run without holes goes on past this reading's window
                }

                if (_hole is null || _hole.Below <= _safe)
                {
                    _hole = new Hole(max, reading.ReadAt, _timeProvider.GetTimestamp());
                }

                var hole = _hole;
                if (_timeProvider.GetElapsedTime(hole.SeenAt) < _staleGapThreshold)
                {
                    return _safe;
                }

                // Probe first, read after: a transaction that ends before the probe has, if it committed, committed before
                // every later read, which therefore sees its events.
                var holders = await LiveReserversAsync(connection, hole.ReadAt, cancellationToken).ConfigureAwait(false);
                if (holders.Count > 0)
                {
                    WarnIfHeldLong(hole, holders);
                    return _safe;
                }

                LogHolesPassed(_logger, _safe, hole.Below);
                _safe = hole.Below;
                _hole = null;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose() => _gate.Dispose();

    private void WarnIfHeldLong(Hole hole, List<string> holders)
    {
        var held = _timeProvider.GetElapsedTime(hole.SeenAt);
        if (held >= HeldWarning && !hole.Warned)
        {
            hole.Warned = true;
            LogHoleHeld(_logger, _safe, (long)held.TotalSeconds, string.Join("; ", holders));
        }
    }

    private async Task<Reading> ReadAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var command = new NpgsqlCommand(_readingSql, connection);
        await using var disposeCommand = command.ConfigureAwait(false);
        command.Parameters.AddWithValue("start", _safe);
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var disposeReader = reader.ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return new Reading(
            await NullableAsync(reader, 0, cancellationToken).ConfigureAwait(false),
            await NullableAsync(reader, 1, cancellationToken).ConfigureAwait(false),
            await NullableAsync(reader, 2, cancellationToken).ConfigureAwait(false),
            await NullableAsync(reader, 3, cancellationToken).ConfigureAwait(false),
            await reader.GetFieldValueAsync<DateTime>(4, cancellationToken).ConfigureAwait(false));
    }

    private async Task<List<string>> LiveReserversAsync(NpgsqlConnection connection, DateTime readAt, CancellationToken cancellationToken)
    {
        var command = new NpgsqlCommand(_probeSql, connection);
        await using var disposeCommand = command.ConfigureAwait(false);
        command.Parameters.AddWithValue("seen", readAt);
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var disposeReader = reader.ConfigureAwait(false);
        var holders = new List<string>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            holders.Add(await reader.IsDBNullAsync(0, cancellationToken).ConfigureAwait(false)
                ? "a prepared transaction"
                : $"pid {reader.GetInt32(0)} ({Text(reader, 1)}, {Text(reader, 2)}, began {Text(reader, 3)})");
        }

        return holders;
    }

    private static string Text(NpgsqlDataReader reader, int column) =>
#pragma warning disable VSTHRD103 // the row is read whole: no I/O
        reader.IsDBNull(column) ? "not visible to this role" : Convert.ToString(reader.GetValue(column), System.Globalization.CultureInfo.InvariantCulture) ?? string.Empty;
#pragma warning restore VSTHRD103

    private static async Task<long?> NullableAsync(NpgsqlDataReader reader, int column, CancellationToken cancellationToken) =>
        await reader.IsDBNullAsync(column, cancellationToken).ConfigureAwait(false) ? null : reader.GetInt64(column);

    [LoggerMessage(Level = LogLevel.Debug, Message = "No live transaction can fill the holes after position {Mark}: readers pass them up to position {Position}")]
    private static partial void LogHolesPassed(ILogger logger, long mark, long position);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Readers of the log have waited {Seconds} s at position {Mark} for transactions that took sequence numbers and may still commit them: {Holders}")]
    private static partial void LogHoleHeld(ILogger logger, long mark, long seconds, string holders);

    /// <summary>One reading: the run after the mark within the window, the highest visible position, and when it was read (server clock).</summary>
    private sealed record Reading(long? FirstAfter, long? LastBeforeHole, long? WindowMax, long? Max, DateTime ReadAt)
    {
        /// <summary>Whether the window was read without a hole up to its end and more positions follow it.</summary>
        public bool WindowFull => LastBeforeHole is null && WindowMax is { } end && Max > end;

        /// <summary>The end of the run of committed positions right after <paramref name="start"/>.</summary>
        public long Ceiling(long start) => FirstAfter switch
        {
            null => start,
            var first when first != start + 1 => start,
            _ => LastBeforeHole ?? WindowMax!.Value,
        };
    }

    /// <summary>
    /// Holes below <see cref="Below"/> (the highest position seen by the reading at <see cref="ReadAt"/>, server clock),
    /// first seen at <see cref="SeenAt"/> (this process's timestamp).
    /// </summary>
    private sealed record Hole(long Below, DateTime ReadAt, long SeenAt)
    {
        public bool Warned { get; set; }
    }
}
