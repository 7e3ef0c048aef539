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
            statuses[Guid.Parse(stream["reservation-".Length..])] = type.Split('.')[0]["reservation-".Length..] switch
            {
                "placed" => "tentative",
                var outcome => outcome,
            };
        }

        return statuses;
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
