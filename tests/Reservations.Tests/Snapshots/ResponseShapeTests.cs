using System.Net;
using System.Text;
using EventSourcing.Tests.Shared.Postgres;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using Reservations.Tests.Infrastructure;
using Snapshooter;
using Snapshooter.Xunit3;

namespace Reservations.Tests.Snapshots;

/// <summary>
/// The shapes of the main responses, as snapshots in <c>__snapshots__</c>: status, content type, headers and body. Both
/// stores match the same snapshot files (named after this base class). Known ids are replaced by placeholders before
/// matching (which also checks they are the right ids); positions and timestamps are ignored.
/// </summary>
public abstract class ResponseShapeTests(StoreUnderTest store)
{
    private static readonly Guid Guest = Guid.Parse("4d1f9b7e-2c3a-4e5f-9a6b-7c8d9e0f1a2b");
    private static readonly DateOnly Day = new(2099, 6, 15);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_placed_response_has_a_stable_shape()
    {
        await using var app = await store.StartAsync();
        using var client = app.CreateClient();

        using var response = await client.PlaceAsync(Bodies.Valid(Day, partySize: 4, guestId: Guest));
        var placed = await response.ReadAsync<Placed>(HttpStatusCode.Accepted);

        Snapshot.Match(await ShapeAsync(response, (placed.Id, "{reservation}")), options => options.IgnoreField("body.position"));
    }

    [Fact]
    public async Task A_reservation_view_has_a_stable_shape()
    {
        await using var app = await store.StartAsync();
        using var client = app.CreateClient();
        var placed = await client.PlaceAcceptedAsync(Bodies.Valid(Day, partySize: 4, guestId: Guest));
        await client.WaitForOutcomeAsync(placed);

        using var response = await client.GetAsync(ReservationsApi.Url($"/reservations/{placed.Id}"), Ct);

        Snapshot.Match(await ShapeAsync(response, (placed.Id, "{reservation}")));
    }

    [Fact]
    public async Task Availability_has_a_stable_shape()
    {
        await using var app = await store.StartAsync();
        using var client = app.CreateClient();
        var placed = await client.PlaceAcceptedAsync(Bodies.Valid(Day, partySize: 4, guestId: Guest));
        await client.WaitForOutcomeAsync(placed);
        await client.WaitForAvailabilityAsync(Day, a => a.Held == 4, "4 seats held");

        using var response = await client.GetAsync(ReservationsApi.Url($"/days/{ReservationsApi.Text(Day)}/availability"), Ct);

        Snapshot.Match(await ShapeAsync(response));
    }

    [Fact]
    public async Task The_cancelled_response_and_the_history_have_a_stable_shape()
    {
        await using var app = await store.StartAsync();
        using var client = app.CreateClient();
        var placed = await client.PlaceAcceptedAsync(Bodies.Valid(Day, partySize: 4, guestId: Guest));
        await client.WaitForOutcomeAsync(placed);

        using var cancelled = await client.CancelAsync(placed.Id, "\"2\"");
        using var history = await client.GetAsync(ReservationsApi.Url($"/reservations/{placed.Id}/history"), Ct);

        Snapshot.Match(
            new JObject { ["cancel"] = await ShapeAsync(cancelled, (placed.Id, "{reservation}")), ["history"] = await ShapeAsync(history, (placed.Id, "{reservation}")) },
            options => options
                .IgnoreField("cancel.body.position")
                .IgnoreField("history.body[*].position")
                .IgnoreField("history.body[*].timestamp")
                .IgnoreField("history.body[0].data.placedAt")
                .IgnoreField("history.body[1].data.confirmedAt")
                .IgnoreField("history.body[2].data.cancelledAt"));
    }

    [Fact]
    public async Task A_validation_problem_has_a_stable_shape()
    {
        await using var app = await store.StartAsync();
        using var client = app.CreateClient();

        using var response = await client.PlaceAsync(new PlaceReservationBody(Guid.Empty, string.Empty, "not-an-email", "phone?", new DateOnly(2000, 1, 1), 0));

        Snapshot.Match(await ShapeAsync(response), options => options.IgnoreField("body.traceId"));
    }

    [Fact]
    public async Task A_precondition_failed_problem_has_a_stable_shape()
    {
        await using var app = await store.StartAsync();
        using var client = app.CreateClient();
        var placed = await client.PlaceAcceptedAsync(Bodies.Valid(Day, guestId: Guest));
        await client.WaitForOutcomeAsync(placed);

        using var response = await client.CancelAsync(placed.Id, "\"1\"");

        Snapshot.Match(await ShapeAsync(response), options => options.IgnoreField("body.traceId"));
    }

    /// <summary>Status, content type, ETag, Location and body as one JSON object, with known ids as placeholders.</summary>
    private static async Task<JObject> ShapeAsync(HttpResponseMessage response, params (Guid Id, string Placeholder)[] placeholders)
    {
        string Replace(string text) => placeholders.Aggregate(text, (current, p) => current.Replace(p.Id.ToString(), p.Placeholder, StringComparison.OrdinalIgnoreCase));

        var shape = new JObject
        {
            ["status"] = (int)response.StatusCode,
            ["contentType"] = response.Content.Headers.ContentType?.ToString(),
        };
        if (response.Headers.ETag is { } etag)
        {
            shape["etag"] = etag.ToString();
        }

        if (response.Headers.Location is { } location)
        {
            shape["location"] = Replace(location.OriginalString);
        }

        var body = Replace(await response.Content.ReadAsStringAsync(Ct));
        using var reader = new JsonTextReader(new StringReader(body)) { DateParseHandling = DateParseHandling.None, FloatParseHandling = FloatParseHandling.Decimal };
        shape["body"] = JToken.ReadFrom(reader);
        return shape;
    }
}

public sealed class InMemoryResponseShapeTests() : ResponseShapeTests(new InMemoryStore());

public sealed class PostgresResponseShapeTests(PostgresFixture postgres) : ResponseShapeTests(new PostgresStore(postgres));
