using EventSourcing.Tests.Shared.Postgres;
using Microsoft.Kiota.Abstractions;
using Microsoft.Kiota.Abstractions.Authentication;
using Microsoft.Kiota.Http.HttpClientLibrary;
using Microsoft.Kiota.Http.HttpClientLibrary.Middleware.Options;
using Reservations.Tests.Client;
using Reservations.Tests.Client.Models;
using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.OpenApi;

/// <summary>
/// The README's walk through the API with nothing but the C# client Kiota generates from the committed document at build
/// (obj/ReservationsClient): no hand-written HTTP. A document that misstates a path, a parameter, a schema or an error
/// response breaks the build or this test.
/// </summary>
public abstract class GeneratedClientTests(StoreUnderTest store)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_README_walk_works_through_a_client_generated_from_the_document()
    {
        await using var app = await store.StartAsync(new Dictionary<string, string?> { ["Admin:ApiKey"] = ReservationsApp.AdminKey });
        using var http = app.CreateDefaultClient([.. KiotaClientFactory.CreateDefaultHandlers(), new OpenApiResponseCheck()]);
        var client = new ReservationsClient(new HttpClientRequestAdapter(new AnonymousAuthenticationProvider(), httpClient: http) { BaseUrl = http.BaseAddress!.ToString().TrimEnd('/') });
        var day = Bodies.UniqueDay();
        var guest = Guid.NewGuid();
        var body = new PlaceReservationRequest
        {
            GuestId = guest, GuestName = "Ada Lovelace", GuestEmail = "ada@example.com", GuestPhone = "+44 20 7946 0000", Day = new Date(day.Year, day.Month, day.Day), PartySize = 4,
        };

        // Place, with an idempotency key; the retry with the same key is the same placement.
        var placing = Inspect();
        var placed = await client.Reservations.PostAsync(body, r => { r.Headers.Add("Idempotency-Key", "walk-1"); r.Options.Add(placing); }, Ct);
        Assert.Equal("tentative", placed!.Status);
        Assert.Equal($"/reservations/{placed.Id}", Assert.Single(placing.ResponseHeaders["Location"]));
        var retried = await client.Reservations.PostAsync(body, r => r.Headers.Add("Idempotency-Key", "walk-1"), Ct);
        Assert.Equal((placed.Id, placed.Position), (retried!.Id, retried.Position));
        var id = placed.Id!.Value;

        // Wait for the confirmation.
        var reading = Inspect();
        var reservation = await client.Reservations[id].GetAsync(r => { r.QueryParameters.AtLeast = placed.Position; r.QueryParameters.Decided = true; r.Options.Add(reading); }, Ct);
        Assert.Equal("confirmed", reservation!.Status);
        Assert.Equal("true", Assert.Single(reading.ResponseHeaders["X-View-Up-To-Date"]));
        var etag = Assert.Single(reading.ResponseHeaders["ETag"]);
        Assert.Equal($"\"{reservation.Version}\"", etag);

        // The day's availability (its own view, which may follow the reservation's a little later) and listings, and the guest's.
        var availability = await Eventually.Async(
            () => client.Days[body.Day!.Value].Availability.GetAsync(cancellationToken: Ct),
            a => a?.Held == 4,
            "the day's availability to show the 4 seats held",
            ReservationsApi.Patience,
            TimeSpan.FromMilliseconds(50));
        Assert.Equal(availability!.Capacity - 4, availability.Available);
        Assert.Equal([id.ToString()], (await client.Days[body.Day!.Value].Reservations.GetAsync(cancellationToken: Ct))!.Select(r => r.Id));
        Assert.Equal([id.ToString()], (await client.Guests[guest].Reservations.GetAsync(cancellationToken: Ct))!.Select(r => r.Id));

        // Errors arrive as the document's problem types: a stale If-Match is a 412, bad input a 400 with errors by field.
        var stale = await Assert.ThrowsAsync<ProblemDetails>(() => client.Reservations[id].Cancel.PostAsync(r => r.Headers.Add("If-Match", $"\"{reservation.Version - 1}\""), Ct));
        Assert.Equal(412, stale.ResponseStatusCode);
        var invalid = await Assert.ThrowsAsync<HttpValidationProblemDetails>(() => client.Reservations.PostAsync(
            new PlaceReservationRequest { GuestId = guest, GuestName = "Ada", GuestEmail = "not an e-mail", Day = body.Day, PartySize = 40 }, cancellationToken: Ct));
        Assert.Equal(["guestEmail", "partySize"], invalid.Errors!.AdditionalData.Keys.Order(StringComparer.Ordinal));

        // Cancel with the version read.
        var cancelling = Inspect();
        var cancelled = await client.Reservations[id].Cancel.PostAsync(r => { r.Headers.Add("If-Match", etag); r.Options.Add(cancelling); }, Ct);
        Assert.Equal("cancelled", cancelled!.Status);
        Assert.Equal($"\"{cancelled.Version}\"", Assert.Single(cancelling.ResponseHeaders["ETag"]));

        // The history, in order.
        var history = await client.Reservations[id].History.GetAsync(cancellationToken: Ct);
        Assert.Equal(["reservation-placed.v1", "reservation-confirmed.v1", "reservation-cancelled.v1"], history!.Select(e => e.Type));
        Assert.Equal([1L, 2L, 3L], history!.Select(e => e.Version!.Value));

        // Forget the guest: the admin key is required; then the views show the placeholders.
        var unauthorized = await Assert.ThrowsAsync<ProblemDetails>(() => client.Guests[guest].PersonalData.DeleteAsync(cancellationToken: Ct));
        Assert.Equal(401, unauthorized.ResponseStatusCode);
        await client.Guests[guest].PersonalData.DeleteAsync(r => r.Headers.Add("X-Api-Key", ReservationsApp.AdminKey), Ct);
        var forgotten = await client.Reservations[id].GetAsync(r => r.QueryParameters.AtLeast = cancelled.Position, Ct);
        Assert.Equal(("[erased]", "cancelled"), (forgotten!.GuestName, forgotten.Status));

        // Operators' view, and health.
        var followers = await client.Admin.Projections.GetAsync(r => r.Headers.Add("X-Api-Key", ReservationsApp.AdminKey), Ct);
        Assert.Contains(followers!, f => f.Name == "reservation-details" && f.State is not null);
        var health = await client.Health.GetAsync(cancellationToken: Ct);
        Assert.Equal("healthy", health!.Status);
        Assert.True(health.Head >= cancelled.Position);
    }

    private static HeadersInspectionHandlerOption Inspect() => new() { InspectResponseHeaders = true };
}

public sealed class InMemoryGeneratedClientTests() : GeneratedClientTests(new InMemoryStore());

public sealed class PostgresGeneratedClientTests(PostgresFixture postgres) : GeneratedClientTests(new PostgresStore(postgres));
