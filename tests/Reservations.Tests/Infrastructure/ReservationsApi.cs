using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Reservations.Tests.Infrastructure;

/// <summary>The reservation API's endpoints as calls, with the checks every caller wants (status, content type).</summary>
public static class ReservationsApi
{
    public const string ProblemJson = "application/problem+json";

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>How long a test waits for the reactor and the async projections before it fails.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static Uri Url(string path) => new(path, UriKind.Relative);

    public static string Text(DateOnly day) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    public static async Task<HttpResponseMessage> PlaceAsync(this HttpClient client, PlaceReservationBody body, string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Url("/reservations")) { Content = JsonContent.Create(body, options: Json) };
        if (idempotencyKey is not null)
        {
            Assert.True(request.Headers.TryAddWithoutValidation("Idempotency-Key", idempotencyKey)); // as it is: tests send malformed keys too
        }

        return await client.SendAsync(request, Ct);
    }

    /// <summary>Places a reservation and checks the 202: its Location and tentative status.</summary>
    public static async Task<Placed> PlaceAcceptedAsync(this HttpClient client, PlaceReservationBody body, string? idempotencyKey = null)
    {
        using var response = await client.PlaceAsync(body, idempotencyKey);
        var placed = await response.ReadAsync<Placed>(HttpStatusCode.Accepted);
        Assert.Equal($"/reservations/{placed.Id}", response.Headers.Location?.OriginalString);
        Assert.Equal("tentative", placed.Status);
        return placed;
    }

    /// <summary>GET /reservations/{id}, with <c>?atLeast=</c> and <c>decided=true</c> when given.</summary>
    public static async Task<ReservationView> GetReservationAsync(this HttpClient client, Guid id, long? atLeast = null, bool decided = false)
    {
        var parameters = new[] { atLeast is { } position ? string.Create(CultureInfo.InvariantCulture, $"atLeast={position}") : null, decided ? "decided=true" : null }.OfType<string>().ToList();
        var query = parameters.Count > 0 ? "?" + string.Join('&', parameters) : string.Empty;
        using var response = await client.GetAsync(Url($"/reservations/{id}{query}"), Ct);
        var view = await response.ReadAsync<ReservationView>(HttpStatusCode.OK);
        Assert.Equal($"\"{view.Version.ToString(CultureInfo.InvariantCulture)}\"", response.Headers.ETag?.Tag);
        return view;
    }

    /// <summary>Polls the reservation until the reactor has confirmed or rejected it.</summary>
    public static async Task<ReservationView> WaitForOutcomeAsync(this HttpClient client, Placed placed) =>
        await Eventually.Async(
            () => client.GetReservationAsync(placed.Id, placed.Position),
            view => view.Status != "tentative",
            $"reservation {placed.Id} to be confirmed or rejected");

    public static async Task<HttpResponseMessage> CancelAsync(this HttpClient client, Guid id, string? ifMatch = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Url($"/reservations/{id}/cancel"));
        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }

        return await client.SendAsync(request, Ct);
    }

    /// <summary>DELETE /guests/{guestId}/personal-data with the admin API key (or <paramref name="apiKey"/>).</summary>
    public static async Task<HttpResponseMessage> ForgetGuestAsync(this HttpClient client, Guid guestId, string? apiKey = ReservationsApp.AdminKey)
    {
        using var request = new HttpRequestMessage(HttpMethod.Delete, Url($"/guests/{guestId}/personal-data")).WithApiKey(apiKey);
        return await client.SendAsync(request, Ct);
    }

    public static Task<Availability> GetAvailabilityAsync(this HttpClient client, DateOnly day) =>
        client.GetOkAsync<Availability>($"/days/{Text(day)}/availability");

    /// <summary>Polls the day's availability until <paramref name="done"/> (the view follows the reactor's holds and releases).</summary>
    public static Task<Availability> WaitForAvailabilityAsync(this HttpClient client, DateOnly day, Func<Availability, bool> done, string what) =>
        Eventually.Async(() => client.GetAvailabilityAsync(day), done, $"availability of {Text(day)}: {what}");

    public static Task<List<ReservationView>> GetDayReservationsAsync(this HttpClient client, DateOnly day) =>
        client.GetOkAsync<List<ReservationView>>($"/days/{Text(day)}/reservations");

    public static Task<List<ReservationView>> GetGuestReservationsAsync(this HttpClient client, Guid guestId) =>
        client.GetOkAsync<List<ReservationView>>($"/guests/{guestId}/reservations");

    public static Task<List<HistoryEntry>> GetHistoryAsync(this HttpClient client, Guid id) =>
        client.GetOkAsync<List<HistoryEntry>>($"/reservations/{id}/history");

    public static Task<Health> GetHealthAsync(this HttpClient client) => client.GetOkAsync<Health>("/health");

    public static async Task<T> GetOkAsync<T>(this HttpClient client, string path)
    {
        using var response = await client.GetAsync(Url(path), Ct);
        return await response.ReadAsync<T>(HttpStatusCode.OK);
    }

    /// <summary>Checks the status (showing the body when it is not the expected one) and reads the JSON body.</summary>
    public static async Task<T> ReadAsync<T>(this HttpResponseMessage response, HttpStatusCode expected)
    {
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == expected, $"Expected {(int)expected} {expected} but got {(int)response.StatusCode} {response.StatusCode}: {body}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonSerializer.Deserialize<T>(body, Json) ?? throw new InvalidOperationException($"The body was null: {body}");
    }

    /// <summary>Checks that the response is a problem (RFC 9457) with the expected status, and returns it.</summary>
    public static async Task<JsonElement> ReadProblemAsync(this HttpResponseMessage response, HttpStatusCode expected)
    {
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == expected, $"Expected {(int)expected} {expected} but got {(int)response.StatusCode} {response.StatusCode}: {body}");
        Assert.Equal(ProblemJson, response.Content.Headers.ContentType?.MediaType);
        using var document = JsonDocument.Parse(body);
        var problem = document.RootElement.Clone();
        Assert.Equal((int)expected, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("title").GetString()));
        return problem;
    }

    public static HttpRequestMessage WithApiKey(this HttpRequestMessage request, string? key)
    {
        if (key is not null)
        {
            request.Headers.Add("X-Api-Key", key);
        }

        return request;
    }

    public static EntityTagHeaderValue ETagOf(HttpResponseMessage response) =>
        response.Headers.ETag ?? throw new InvalidOperationException("The response has no ETag.");
}
