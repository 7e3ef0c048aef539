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

    /// <summary>Runs <paramref name="sql"/> (statements that return nothing) in one transaction.</summary>
    public async Task ExecuteAsync(string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var transaction = await connection.BeginTransactionAsync(Ct);
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        await command.ExecuteNonQueryAsync(Ct);
        await transaction.CommitAsync(Ct);
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
