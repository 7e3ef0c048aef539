using EventSourcing.Projections;
using EventSourcing.Reactors;
using EventSourcing.Storage;
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
            .WithSummary("A reservation; ?atLeast={position} first waits (bounded) until the view reflects that position; &decided=true also waits until it shows the confirmation decision (confirmed or rejected).");
        return group;
    }

    private static async Task<Results<Ok<ReservationDetails>, ProblemHttpResult>> GetAsync(
        Guid id, long? atLeast, bool? decided, HttpContext context, IViewReader views, IEventReader events, ReactorStatusReader reactors,
        TimeProvider timeProvider, IOptions<ReservationOptions> options, CancellationToken cancellationToken)
    {
        // One bound for the whole wait, reactor and views: past it, the answer is what the view holds then.
        var timeout = options.Value.ReadYourWritesTimeout;
        var position = atLeast ?? 0;
        if (decided is true)
        {
            var started = timeProvider.GetTimestamp();
            position = Math.Max(position, await DecisionWait.WaitForReactorAsync(id, events, reactors, timeProvider, timeout, cancellationToken));
            timeout -= timeProvider.GetElapsedTime(started);
        }

        if (position > 0)
        {
            await views.WaitForPositionAsync<ReservationDetails>(position, timeout > TimeSpan.Zero ? timeout : TimeSpan.Zero, cancellationToken);
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
