namespace Reservations.Domain;

/// <summary>Configuration section <c>Reservations</c>.</summary>
public sealed class ReservationOptions
{
    /// <summary>Seats per day (<c>Reservations:SeatsPerDay</c>). Default 40.</summary>
    public int SeatsPerDay { get; set; } = 40;

    /// <summary>
    /// The longest a read with <c>?atLeast=</c> waits for the views to catch up, or with <c>decided=true</c> for the reactor and
    /// then the views (one bound for both). Default 5 seconds.
    /// </summary>
    public TimeSpan ReadYourWritesTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The longest a request takes before it is answered 503 (<c>Reservations:RequestTimeout</c>). Default 10 seconds.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
