using EventSourcing.Projections;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Reservations.Domain;

namespace Reservations.GettingReservation;

public static class GetReservationEndpoint
{
    public static RouteGroupBuilder MapGetReservation(this RouteGroupBuilder group)
    {
        group.MapGet("/reservations/{id:guid}", GetAsync)
            .WithName("GetReservation")
            .WithSummary("A reservation; ?atLeast={position} first waits (bounded) until the view reflects that position.");
        return group;
    }

    private static async Task<Results<Ok<ReservationDetails>, ProblemHttpResult>> GetAsync(
        Guid id, long? atLeast, HttpContext context, IViewReader views, IOptions<ReservationOptions> options, CancellationToken cancellationToken)
    {
        if (atLeast is > 0)
        {
            await views.WaitForPositionAsync<ReservationDetails>(atLeast.Value, options.Value.ReadYourWritesTimeout, cancellationToken);
        }

        var view = await views.FindAsync<ReservationDetails>(id.ToString(), cancellationToken);
        if (view is null)
        {
            return TypedResults.Problem(Problems.NotFound($"Reservation {id} does not exist (or is not projected yet: pass ?atLeast= with the position the write returned)."));
        }

        context.Response.Headers.ETag = $"\"{view.Version}\"";
        return TypedResults.Ok(view);
    }
}
