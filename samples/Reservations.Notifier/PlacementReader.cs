using System.Text.Json;
using EventSourcing.Nats;

namespace Reservations.Notifier;

/// <summary>What the notifier can read of a placement: the guest's name and e-mail only when it shares the API's key store.</summary>
public sealed record Placement(Guid Id, Guid GuestId, DateOnly Day, int PartySize, string? GuestName, string? GuestEmail, PersonalDataAccess Access);

public enum PersonalDataAccess
{
    /// <summary>Decrypted through the shared key store.</summary>
    Read,

    /// <summary>The guest was forgotten: the values read as placeholders.</summary>
    Erased,

    /// <summary>No key store shared with the API: the values stay sealed.</summary>
    Sealed,
}

/// <summary>Reads a placement's body as the API forwarded it.</summary>
public interface IPlacementReader
{
    Task<Placement> ReadAsync(ReadOnlyMemory<byte> body, CancellationToken cancellationToken);
}

/// <summary>On PostgreSQL, sharing the API's key store and master key: a trusted consumer, which decrypts the guest's values.</summary>
public sealed class TrustedPlacementReader(TrustedEventReader reader) : IPlacementReader
{
    public async Task<Placement> ReadAsync(ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        var read = await reader.ReadAsync(ReservationEventTypes.Placed, body, cancellationToken);
        var placed = (ReservationPlaced)read.Data;
        return new Placement(placed.Id, placed.GuestId, placed.Day, placed.PartySize, placed.GuestName, placed.GuestEmail,
            read.PersonalDataErased ? PersonalDataAccess.Erased : PersonalDataAccess.Read);
    }
}

/// <summary>
/// Without the API's key store (the in-memory quick start keeps its keys inside the API's process): only what is not
/// personal data is readable. The name and e-mail stay sealed.
/// </summary>
public sealed class SealedPlacementReader : IPlacementReader
{
    public Task<Placement> ReadAsync(ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        using var json = JsonDocument.Parse(body);
        var root = json.RootElement;
        return Task.FromResult(new Placement(
            root.GetProperty("id").GetGuid(),
            root.GetProperty("guestId").GetGuid(),
            DateOnly.Parse(root.GetProperty("day").GetString()!, System.Globalization.CultureInfo.InvariantCulture),
            root.GetProperty("partySize").GetInt32(),
            null,
            null,
            PersonalDataAccess.Sealed));
    }
}
