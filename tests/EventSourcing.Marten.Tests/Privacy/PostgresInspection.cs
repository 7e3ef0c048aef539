using System.Diagnostics;
using System.Text;
using Npgsql;

namespace EventSourcing.Marten.Tests.Privacy;

/// <summary>Looks at what a database holds: every row of every table as text, a pg_dump (and its restore), raw heap pages.</summary>
internal static class PostgresInspection
{
    public static async Task<string> AllRowsAsTextAsync(string connectionString, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        var tables = new List<string>();
        await using (var list = new NpgsqlCommand("select format('%I.%I', schemaname, tablename) from pg_tables where schemaname not in ('pg_catalog', 'information_schema')", connection))
        await using (var reader = await list.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                tables.Add(reader.GetString(0));
            }
        }

        var text = new StringBuilder();
        foreach (var table in tables)
        {
            await using var rows = new NpgsqlCommand($"select t::text from {table} t", connection);
            await using var reader = await rows.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                text.Append(table).Append(": ").AppendLine(reader.GetString(0));
            }
        }

        Assert.Contains("mt_events", string.Join(' ', tables), StringComparison.Ordinal);
        return text.ToString();
    }

    /// <summary>A plain-format (SQL text) dump of the whole database, as <c>pg_dump</c> makes it.</summary>
    public static Task<string> PgDumpAsync(string connectionString, CancellationToken cancellationToken) =>
        RunAsync("pg_dump", connectionString, [], input: null, cancellationToken);

    /// <summary>Restores a plain-format dump into the (fresh) database at <paramref name="connectionString"/> with <c>psql</c>, stopping at the first error.</summary>
    public static Task RestoreAsync(string dump, string connectionString, CancellationToken cancellationToken) =>
        RunAsync("psql", connectionString, ["-X", "-q", "-v", "ON_ERROR_STOP=1"], dump, cancellationToken);

    /// <summary>Runs a PostgreSQL client program on the database, with <paramref name="input"/> on its standard input; returns its output.</summary>
    private static async Task<string> RunAsync(string program, string connectionString, string[] options, string? input, CancellationToken cancellationToken)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        var path = new[] { Environment.GetEnvironmentVariable("PG_BIN") }
            .Concat(Directory.Exists("/usr/lib/postgresql") ? Directory.GetDirectories("/usr/lib/postgresql").OrderDescending().Select(d => Path.Combine(d, "bin")) : [])
            .Where(d => d is not null).Select(d => Path.Combine(d!, program)).FirstOrDefault(File.Exists) ?? program;
        var start = new ProcessStartInfo(path) { RedirectStandardInput = input is not null, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in options.Concat(["-h", builder.Host!, "-p", builder.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-U", builder.Username ?? "postgres", "--no-password", "-d", builder.Database!]))
        {
            start.ArgumentList.Add(argument);
        }

        if (builder.Password is { } password)
        {
            start.Environment["PGPASSWORD"] = password;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var errors = process.StandardError.ReadToEndAsync(cancellationToken);
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input.AsMemory(), cancellationToken);
            process.StandardInput.Close();
        }

        await process.WaitForExitAsync(cancellationToken);
        Assert.True(process.ExitCode == 0, $"{program} failed: {await errors}");
        return await output;
    }

    /// <summary>The raw bytes of every tuple still on the pages of <paramref name="table"/>, live or dead.</summary>
    public static async Task<List<byte[]>> HeapTuplesAsync(string connectionString, string table, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using (var extension = new NpgsqlCommand("create extension if not exists pageinspect", connection))
        {
            await extension.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var command = new NpgsqlCommand(
            $"select t_data from generate_series(0, (pg_relation_size('{table}') / current_setting('block_size')::int - 1)::int) page, " +
            $"lateral heap_page_items(get_raw_page('{table}', page)) where t_data is not null", connection);
        var tuples = new List<byte[]>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            tuples.Add(reader.GetFieldValue<byte[]>(0));
        }

        return tuples;
    }
}
