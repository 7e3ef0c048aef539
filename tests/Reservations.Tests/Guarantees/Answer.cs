using System.Net;
using System.Text.Json;
using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.Guarantees;

/// <summary>A response read to the end: what a racer brings back, to be judged after the race.</summary>
internal sealed record Answer(HttpStatusCode Status, string Body)
{
    public static async Task<Answer> Of(Task<HttpResponseMessage> sending)
    {
        using var response = await sending;
        return new Answer(response.StatusCode, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    public bool IsSuccess => (int)Status is >= 200 and < 300;

    /// <summary>The problem's title, or null when the body is not a problem.</summary>
    public string? Title
    {
        get
        {
            try
            {
                using var document = JsonDocument.Parse(Body);
                return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("title", out var title) ? title.GetString() : null;
            }
            catch (JsonException)
            {
                return null;
            }
        }
    }

    public T Read<T>() => JsonSerializer.Deserialize<T>(Body, ReservationsApi.Json) ?? throw new InvalidOperationException($"The body was null: {Body}");

    public override string ToString() => $"{(int)Status} {Body}";
}

/// <summary>Personal values that still read back: anything but the erased placeholder (or null).</summary>
internal static class PersonalValues
{
    public const string Erased = "[erased]";

    private static readonly string[] PlacedProperties = ["guestName", "guestEmail", "guestPhone"];

    public static int Readable(ReservationView view) => new[] { view.GuestName, view.GuestEmail, view.GuestPhone }.Count(IsReadable);

    /// <summary>Readable guest values in the history's <c>reservation-placed.v1</c> events.</summary>
    public static int Readable(IEnumerable<HistoryEntry> history) =>
        history.Where(e => e.Type == "reservation-placed.v1")
            .Sum(e => PlacedProperties.Count(p => e.Data.TryGetProperty(p, out var value) && value.ValueKind != JsonValueKind.Null && IsReadable(value.ToString())));

    private static bool IsReadable(string? value) => value is not null && value != Erased;
}
