using System.Diagnostics;
using System.Globalization;
using System.Net;
using EventSourcing.Tests.Shared.Postgres;
using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.Hosting;

/// <summary>
/// PostgreSQL from an empty database, as by default in any environment (the other PostgreSQL tests start from a
/// database whose schema was applied ahead of time): the app creates its schema as it starts, and must keep its
/// promises meanwhile.
/// </summary>
public sealed class EmptyDatabaseTests(PostgresFixture postgres)
{
    private const int Starts = 20;

    [Fact(Timeout = 120_000)]
    public async Task Read_your_writes_holds_for_the_first_write_on_an_empty_database()
    {
        var store = new PostgresStore(postgres);
        var failures = new List<string>();
        for (var start = 1; start <= Starts && failures.Count == 0; start++)
        {
            await using var app = await store.StartOnEmptyDatabaseAsync();
            using var client = app.CreateClient();
            using var response = await client.PlaceAsync(Bodies.Valid(Bodies.UniqueDay()));
            if (response.StatusCode != HttpStatusCode.Accepted)
            {
                failures.Add($"start {start}: the first POST /reservations answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)}");
                continue;
            }

            var placed = await response.ReadAsync<Placed>(HttpStatusCode.Accepted);
            var clock = Stopwatch.StartNew();
            using var read = await client.GetAsync(ReservationsApi.Url(string.Create(CultureInfo.InvariantCulture, $"/reservations/{placed.Id}?atLeast={placed.Position}")), TestContext.Current.CancellationToken);
            var waited = clock.Elapsed;
            if (read.StatusCode != HttpStatusCode.OK)
            {
                var body = await read.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
                failures.Add(string.Create(
                    CultureInfo.InvariantCulture,
                    $"start {start}: GET /reservations/{{id}}?atLeast={placed.Position} answered {(int)read.StatusCode} after {waited.TotalSeconds:F1} s: {body}"));
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }
}
