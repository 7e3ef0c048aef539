using System.Globalization;
using Npgsql;

namespace Reservations.Tests.Guarantees;

/// <summary>
/// The reactor's decisions read straight from PostgreSQL (<c>mt_events</c>): per reservation, what its own stream and its
/// day's stream say; and the sequence numbers taken but never stored (appends that failed, conflicts among them).
/// </summary>
internal sealed class DecisionLog(string connectionString)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Sequence numbers taken and not stored (<c>max(seq_id) - count(*)</c>), and Marten's tombstone events (a failed append's numbers, filled).</summary>
    public async Task<(long Burned, long Tombstones, long Events)> SequenceAsync()
    {
        const string Sql = "select coalesce(max(seq_id), 0) - count(*), count(*) filter (where stream_id = 'mt_tombstone'), count(*) from mt_events";
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(Sql, connection);
        await using var reader = await command.ExecuteReaderAsync(Ct);
        Assert.True(await reader.ReadAsync(Ct));
        return (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
    }

    /// <summary>
    /// Per reservation, the order in which its events and its day's events about it were stored ("placed held confirmed
    /// cancelled released"): how a cancellation interleaved with the reactor's hold and confirmation.
    /// </summary>
    public async Task<IReadOnlyDictionary<Guid, string>> OrdersAsync()
    {
        const string Sql = """
            select coalesce((data->>'reservationId')::uuid, substr(stream_id, length('reservation-') + 1)::uuid),
                   string_agg(split_part(split_part(type, '.', 1), '-', 2), ' ' order by seq_id)
            from mt_events where stream_id like 'reservation-%' or stream_id like 'day-%' group by 1
            """;
        var orders = new Dictionary<Guid, string>();
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(Sql, connection);
        await using var reader = await command.ExecuteReaderAsync(Ct);
        while (await reader.ReadAsync(Ct))
        {
            orders[reader.GetGuid(0)] = reader.GetString(1);
        }

        return orders;
    }

    /// <summary>Every placed reservation with what the log says of it.</summary>
    public async Task<IReadOnlyDictionary<Guid, Decisions>> ReadAsync()
    {
        const string Sql = """
            select coalesce(r.id, d.id), r.day, r.party_size, coalesce(r.outcomes, 0), coalesce(d.decisions, 0), coalesce(d.held, 0), coalesce(r.confirmed, false), coalesce(r.cancelled, false)
            from (
                select substr(stream_id, length('reservation-') + 1)::uuid as id,
                       max(data->>'day') filter (where type = 'reservation-placed.v1') as day,
                       max((data->>'partySize')::int) filter (where type = 'reservation-placed.v1') as party_size,
                       count(*) filter (where type in ('reservation-confirmed.v1', 'reservation-rejected.v1')) as outcomes,
                       bool_or(type = 'reservation-confirmed.v1') as confirmed,
                       bool_or(type = 'reservation-cancelled.v1') as cancelled
                from mt_events where stream_id like 'reservation-%' group by stream_id) r
            full join (
                select (data->>'reservationId')::uuid as id,
                       count(*) filter (where type in ('seats-held.v1', 'seats-refused.v1')) as decisions,
                       coalesce(sum((data->>'seats')::int) filter (where type = 'seats-held.v1'), 0)
                         - coalesce(sum((data->>'seats')::int) filter (where type = 'seats-released.v1'), 0) as held
                from mt_events where stream_id like 'day-%' group by 1) d on d.id = r.id
            """;
        var decisions = new Dictionary<Guid, Decisions>();
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(Sql, connection);
        await using var reader = await command.ExecuteReaderAsync(Ct);
        while (await reader.ReadAsync(Ct))
        {
            var id = reader.GetGuid(0);
            decisions[id] = new Decisions(
                reader.IsDBNull(1) ? null : DateOnly.Parse(reader.GetString(1), CultureInfo.InvariantCulture),
                reader.IsDBNull(2) ? 0 : reader.GetInt32(2),
                (int)reader.GetInt64(3),
                (int)reader.GetInt64(4),
                (int)reader.GetInt64(5),
                reader.GetBoolean(6),
                reader.GetBoolean(7));
        }

        return decisions;
    }
}

/// <summary>What the log says of one reservation.</summary>
/// <param name="Day">Its day, from its placement (null: not placed).</param>
/// <param name="Outcomes">Confirmations and rejections on its own stream.</param>
/// <param name="DayDecisions">Holds and refusals for it on its day's stream.</param>
/// <param name="Held">Seats its day holds for it (held minus released).</param>
/// <param name="Confirmed">Whether its stream holds a confirmation.</param>
/// <param name="Cancelled">Whether its stream holds a cancellation.</param>
internal sealed record Decisions(DateOnly? Day, int PartySize, int Outcomes, int DayDecisions, int Held, bool Confirmed, bool Cancelled);
