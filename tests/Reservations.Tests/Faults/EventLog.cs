using System.Globalization;
using Npgsql;

namespace Reservations.Tests.Faults;

/// <summary>The sample's event log read straight from PostgreSQL (Marten's <c>mt_events</c>), beside the API: the system of record.</summary>
public sealed class EventLog(string connectionString)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>How many <c>reservation-placed.v1</c> events each reservation has.</summary>
    public async Task<IReadOnlyDictionary<Guid, int>> PlacedAsync()
    {
        var placed = new Dictionary<Guid, int>();
        await foreach (var (stream, count) in RowsAsync<string, long>("select stream_id, count(*) from mt_events where type = 'reservation-placed.v1' group by stream_id"))
        {
            placed[Guid.Parse(stream["reservation-".Length..])] = (int)count;
        }

        return placed;
    }

    /// <summary>Each reservation's last status in the log: tentative, confirmed, rejected or cancelled.</summary>
    public async Task<IReadOnlyDictionary<Guid, string>> StatusesAsync()
    {
        var statuses = new Dictionary<Guid, string>();
        await foreach (var (stream, type) in RowsAsync<string, string>("select stream_id, type from mt_events where stream_id like 'reservation-%' order by seq_id"))
        {
            statuses[Guid.Parse(stream["reservation-".Length..])] = StatusOf(type);
        }

        return statuses;
    }

    /// <summary>One reservation's last status in the log (tentative, confirmed, rejected or cancelled), or null when it is not there.</summary>
    public async Task<string?> StatusOfAsync(Guid reservation)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand("select type from mt_events where stream_id = @stream order by version desc limit 1", connection)
        {
            Parameters = { new("stream", $"reservation-{reservation}") },
        };
        return await command.ExecuteScalarAsync(Ct) is string type ? StatusOf(type) : null;
    }

    /// <summary>Every decision on each reservation, on its own stream and on its day's, counted.</summary>
    public async Task<IReadOnlyDictionary<Guid, Decisions>> DecisionsAsync()
    {
        const string Sql = """
            select coalesce(data->>'reservationId', data->>'id'), type, coalesce((data->>'seats')::int, 0), coalesce((data->>'wasConfirmed')::boolean, false)
            from mt_events
            where type in ('reservation-confirmed.v1', 'reservation-rejected.v1', 'reservation-cancelled.v1', 'seats-held.v1', 'seats-refused.v1', 'seats-released.v1')
            order by seq_id
            """;
        var decisions = new Dictionary<Guid, Decisions>();
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(Sql, connection);
        await using var reader = await command.ExecuteReaderAsync(Ct);
        while (await reader.ReadAsync(Ct))
        {
            var id = Guid.Parse(reader.GetString(0));
            var (seats, wasConfirmed) = (reader.GetInt32(2), reader.GetBoolean(3));
            var d = decisions.GetValueOrDefault(id) ?? new Decisions();
            decisions[id] = reader.GetString(1) switch
            {
                "reservation-confirmed.v1" => d with { Confirmed = d.Confirmed + 1 },
                "reservation-rejected.v1" => d with { Rejected = d.Rejected + 1 },
                "reservation-cancelled.v1" => d with { Cancelled = d.Cancelled + 1, CancelledWhileTentative = d.CancelledWhileTentative || !wasConfirmed },
                "seats-held.v1" => d with { Held = d.Held + 1, HeldSeats = d.HeldSeats + seats },
                "seats-refused.v1" => d with { Refused = d.Refused + 1 },
                _ => d with { Released = d.Released + 1, ReleasedSeats = d.ReleasedSeats + seats },
            };
        }

        return decisions;
    }

    /// <summary>The position the reactor's committed checkpoint has reached (in whichever process runs it), and the head of the log.</summary>
    public async Task<(long Checkpoint, long Head)> ReactorProgressAsync()
    {
        const string Sql = """
            select coalesce((select max((data->>'position')::bigint) from mt_doc_generationcheckpoint where id like 'reactor:%'), 0),
                   coalesce((select max(seq_id) from mt_events), 0)
            """;
        await foreach (var progress in RowsAsync<long, long>(Sql))
        {
            return progress;
        }

        throw new InvalidOperationException("No row.");
    }

    /// <summary>The position the committed checkpoint of the follower <paramref name="follower"/> (a reactor, the forwarder) has reached; 0 before its first commit.</summary>
    public async Task<long> CheckpointOfAsync(string follower)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand("select coalesce(max((data->>'position')::bigint), 0) from mt_doc_generationcheckpoint where id like @checkpoint", connection)
        {
            Parameters = { new("checkpoint", $"reactor:{follower}/%") },
        };
        return (long)(await command.ExecuteScalarAsync(Ct))!;
    }

    /// <summary>How many events the log holds (Marten's tombstones, which fill the numbers of failed appends, left out).</summary>
    public async Task<long> CountAsync()
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand("select count(*) from mt_events where stream_id <> 'mt_tombstone'", connection);
        return (long)(await command.ExecuteScalarAsync(Ct))!;
    }

    /// <summary>Every event of the log, in log order (tombstones left out): its position, id, stream and version in it.</summary>
    public async Task<IReadOnlyList<LoggedEvent>> EventsAsync()
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand("select seq_id, id, stream_id, version from mt_events where stream_id <> 'mt_tombstone' order by seq_id", connection);
        await using var reader = await command.ExecuteReaderAsync(Ct);
        var events = new List<LoggedEvent>();
        while (await reader.ReadAsync(Ct))
        {
            events.Add(new LoggedEvent(reader.GetInt64(0), reader.GetGuid(1), reader.GetString(2), reader.GetInt64(3)));
        }

        return events;
    }

    /// <summary>The seats held on each day by the day's capacity stream: held minus released.</summary>
    public async Task<IReadOnlyDictionary<DateOnly, int>> HeldSeatsAsync()
    {
        var held = new Dictionary<DateOnly, int>();
        const string Sql = """
            select stream_id, sum(case when type = 'seats-held.v1' then (data->>'seats')::int else -(data->>'seats')::int end)
            from mt_events where type in ('seats-held.v1', 'seats-released.v1') group by stream_id
            """;
        await foreach (var (stream, seats) in RowsAsync<string, long>(Sql))
        {
            held[DateOnly.ParseExact(stream["day-".Length..], "yyyy-MM-dd", CultureInfo.InvariantCulture)] = (int)seats;
        }

        return held;
    }

    /// <summary>The reservations that ever held seats on their day.</summary>
    public async Task<IReadOnlySet<Guid>> HoldersAsync()
    {
        var holders = new HashSet<Guid>();
        await foreach (var (holder, _) in RowsAsync<string, string>("select data->>'reservationId', stream_id from mt_events where type = 'seats-held.v1'"))
        {
            holders.Add(Guid.Parse(holder));
        }

        return holders;
    }

    /// <summary>The dead letters kept, by projection (reactors under <c>reactor:</c> and their name), with the positions of their events.</summary>
    public async Task<ILookup<string, long>> DeadLettersAsync()
    {
        var letters = new List<(string Projection, long Position)>();
        await foreach (var letter in RowsAsync<string, long>("select data->>'projection', (data->>'position')::bigint from mt_doc_deadletterdocument"))
        {
            letters.Add(letter);
        }

        return letters.ToLookup(l => l.Projection, l => l.Position);
    }

    /// <summary>
    /// Appends an event the way Marten appends (its own <c>mt_quick_append_events</c> function, then the notification
    /// its appends send), as another writer would, an older version of the application or a hand-made repair: a new
    /// stream holding one event of <paramref name="eventType"/> with <paramref name="json"/> as its data. Returns its position.
    /// </summary>
    public async Task<long> AppendAsync(string streamId, string eventType, string json, string user)
    {
        const string Sql = """
            select (mt_quick_append_events(@stream, null, '*DEFAULT*', array[gen_random_uuid()], array[@type]::varchar[], array[null]::varchar[],
                array[@data::jsonb], array[null]::bytea[], array[null]::varchar[], array[null]::varchar[], array[null]::jsonb[], array[@user]::varchar[], array[now()]))[2];
            """;
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var transaction = await connection.BeginTransactionAsync(Ct);
        await using var append = new NpgsqlCommand(Sql, connection, transaction);
        append.Parameters.AddWithValue("stream", streamId);
        append.Parameters.AddWithValue("type", eventType);
        append.Parameters.AddWithValue("data", json);
        append.Parameters.AddWithValue("user", user);
        var position = (long)(await append.ExecuteScalarAsync(Ct))!;
        await using var notify = new NpgsqlCommand("select pg_notify('mt_events_appended', '')", connection, transaction);
        await notify.ExecuteNonQueryAsync(Ct);
        await transaction.CommitAsync(Ct);
        return position;
    }

    private static string StatusOf(string eventType) => eventType.Split('.')[0]["reservation-".Length..] switch
    {
        "placed" => "tentative",
        var outcome => outcome,
    };

    private async IAsyncEnumerable<(T1, T2)> RowsAsync<T1, T2>(string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync(Ct);
        while (await reader.ReadAsync(Ct))
        {
            yield return (reader.GetFieldValue<T1>(0), reader.GetFieldValue<T2>(1));
        }
    }
}

/// <summary>One event of the log: its position, id, stream and version in the stream.</summary>
public sealed record LoggedEvent(long Position, Guid Id, string StreamId, long Version);

/// <summary>
/// The decisions on one reservation in the log: its own outcome events (confirmed, rejected, cancelled, and whether a
/// cancellation came while it was tentative), and its day's (seats held, refused, released, with the seats).
/// </summary>
public sealed record Decisions(
    int Confirmed = 0,
    int Rejected = 0,
    int Cancelled = 0,
    bool CancelledWhileTentative = false,
    int Held = 0,
    int HeldSeats = 0,
    int Refused = 0,
    int Released = 0,
    int ReleasedSeats = 0)
{
    /// <summary>The seats the day holds for it now.</summary>
    public int SeatsHeld => HeldSeats - ReleasedSeats;
}
