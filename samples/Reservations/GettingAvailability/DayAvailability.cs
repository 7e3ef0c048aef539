using EventSourcing.Events;
using EventSourcing.Projections;
using Microsoft.Extensions.Options;
using Reservations.Domain;
using Reservations.OpenApi;

namespace Reservations.GettingAvailability;

/// <summary>A day's capacity and held seats: many reservations, one view per day.</summary>
public sealed record DayAvailability(string Id, int Capacity, int Held);

public sealed class DayAvailabilityProjection : Projection<DayAvailability>
{
    public override string Name => "day-availability";

    /// <summary>Seats per day: no guest's personal value is read, so following the log and rebuilding decrypt nothing.</summary>
    public override bool ReadsPersonalData => false;

    public override IEnumerable<string> ViewIds(EventEnvelope envelope) => envelope.Data is DayEvent e ? [e.Day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture)] : [];

    public override DayAvailability? Evolve(string id, DayAvailability? view, EventEnvelope envelope) => envelope.Data switch
    {
        SeatsHeld e => new DayAvailability(id, e.Capacity, (view?.Held ?? 0) + e.Seats),
        SeatsReleased e when view is not null => view with { Held = view.Held - e.Seats },
        _ => view,
    };
}

public static class GetAvailabilityEndpoint
{
    public sealed record Availability(DateOnly Day, int Capacity, int Held, int Available);

    public static RouteGroupBuilder MapGetAvailability(this RouteGroupBuilder group)
    {
        group.MapGet("/days/{day}/availability", GetAsync)
            .WithName("GetAvailability")
            .WithTags(ApiDocument.Days)
            .WithSummary("Get a day's availability")
            .WithDescription("The day's capacity, the seats held by confirmed reservations, and the seats still available. `day` is a date as YYYY-MM-DD.")
            .Produces<Availability>()
            .WithDayParameter()
            .WithResponseExample(StatusCodes.Status200OK, new Availability(OperationDocs.Examples.Day, 40, 4, 36));
        return group;
    }

    private static async Task<IResult> GetAsync(string day, IViewReader views, IOptions<ReservationOptions> options, CancellationToken cancellationToken)
    {
        if (!Days.TryParse(day, out var date))
        {
            return Problems.BadDay(day);
        }

        var view = await views.FindAsync<DayAvailability>(day, cancellationToken);
        var capacity = view?.Capacity ?? options.Value.SeatsPerDay;
        var held = view?.Held ?? 0;
        return TypedResults.Ok(new Availability(date, capacity, held, capacity - held));
    }
}
