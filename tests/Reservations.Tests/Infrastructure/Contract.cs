using System.Text.Json;

namespace Reservations.Tests.Infrastructure;

// The HTTP contract as the tests read it: camelCase JSON, deserialized with the web defaults.

public sealed record PlaceReservationBody(Guid GuestId, string? GuestName, string? GuestEmail, string? GuestPhone, DateOnly Day, int PartySize);

public sealed record Placed(Guid Id, string Status, long Position);

public sealed record ReservationView(Guid Id, Guid GuestId, string GuestName, string GuestEmail, string? GuestPhone, DateOnly Day, int PartySize, string Status, long Version);

public sealed record Cancelled(Guid Id, string Status, long Version, long Position);

public sealed record Availability(DateOnly Day, int Capacity, int Held, int Available);

public sealed record HistoryEntry(string Type, long Version, long Position, DateTimeOffset Timestamp, JsonElement Data);

public sealed record ProjectionStatus(string Name, int Version, string Lifecycle, long Position, long Head, long Lag, string State, int DeadLetters, string? Node = null);

public sealed record Health(string Status, long Head);

/// <summary>Valid request bodies and days, for tests to vary.</summary>
public static class Bodies
{
    /// <summary>A day well ahead, different on each call (so tests sharing an app do not share days).</summary>
    public static DateOnly UniqueDay() => DateOnly.FromDateTime(DateTime.UtcNow).AddDays(Random.Shared.Next(30, 300_000));

    public static PlaceReservationBody Valid(DateOnly day, int partySize = 2, Guid? guestId = null, string guestName = "Ada Lovelace", string guestEmail = "ada@example.com", string? guestPhone = "+44 20 7946 0000") =>
        new(guestId ?? Guid.NewGuid(), guestName, guestEmail, guestPhone, day, partySize);
}
