using EventSourcing.Projections;
using EventSourcing.Reactors;
using EventSourcing.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Reservations.Domain;
using Reservations.OpenApi;

namespace Reservations.GettingReservation;

public static class GetReservationEndpoint
{
    public static RouteGroupBuilder MapGetReservation(this RouteGroupBuilder group)
    {
        group.MapGet("/reservations/{id}", GetAsync)
            .WithName("GetReservation")
            .WithTags(ApiDocument.Reservations)
            .WithSummary("Get a reservation")
            .WithDescription("The reservation as its view shows it. `?atLeast={position}` first waits (bounded) until the view reflects that log position; `&decided=true` also waits until the view shows the confirmation decision (confirmed or rejected). After such a wait, `X-View-Up-To-Date` says whether the view got there; a reservation not in the view because the view is behind is a 404 with `Retry-After`. The `ETag` is the version to send as `If-Match` when cancelling.")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithParameter("id", _ => { }, "The reservation's id (the placement's answer gives it).")
            .WithParameter("atLeast", schema => schema.Minimum = "0", "A log position (the write's answer gives it): wait, up to a bound, until the view reflects it.")
            .WithParameter("decided", _ => { }, "true: also wait, up to the same bound, until the view shows the confirmation decision.")
            .WithResponseExample(StatusCodes.Status200OK, new ReservationDetails(
                OperationDocs.Examples.Reservation.ToString(), OperationDocs.Examples.Guest, "Ada Lovelace", "ada@example.com", "+44 20 7946 0000", OperationDocs.Examples.Day, 4, "confirmed", 2))
            .WithResponseHeader(StatusCodes.Status200OK, "ETag", "The reservation's version, quoted: send it as If-Match.")
            .WithResponseHeader(StatusCodes.Status200OK, UpToDateHeader, "After a wait (atLeast or decided): whether the view reached the position waited for (true or false).")
            .WithResponseHeader(StatusCodes.Status404NotFound, UpToDateHeader, "After a wait (atLeast or decided): whether the view reached the position waited for (true or false).")
            .WithResponseHeader(StatusCodes.Status404NotFound, "Retry-After", "Seconds to wait before reading again, when the view was behind.");
        return group;
    }

    /// <summary>The response header saying, after a read that waited (<c>atLeast</c> or <c>decided</c>), whether the view reached the position waited for.</summary>
    public const string UpToDateHeader = "X-View-Up-To-Date";

    private static async Task<Results<Ok<ReservationDetails>, ProblemHttpResult, ValidationProblem>> GetAsync(
        Guid id, long? atLeast, bool? decided, HttpContext context, IViewReader views, IEventReader events, ReactorStatusReader reactors,
        TimeProvider timeProvider, IOptions<ReservationOptions> options, CancellationToken cancellationToken)
    {
        // One bound for the whole wait, reactor and views: past it, the answer is what the view holds then.
        var timeout = options.Value.ReadYourWritesTimeout;
        var position = atLeast ?? 0;
        if (position < 0)
        {
            return Problems.Invalid("atLeast", "atLeast must be a log position (0 or more).");
        }

        // A position past the log's end is not refused: on PostgreSQL a node reads the log only up to where no transaction
        // in flight can still commit, so a position another node's write just returned may be past it for a moment.
        if (decided is true)
        {
            var started = timeProvider.GetTimestamp();
            position = Math.Max(position, await DecisionWait.WaitForReactorAsync(id, events, reactors, timeProvider, timeout, cancellationToken));
            timeout -= timeProvider.GetElapsedTime(started);
        }

        var upToDate = true;
        if (position > 0)
        {
            upToDate = await views.WaitForPositionAsync<ReservationDetails>(position, timeout > TimeSpan.Zero ? timeout : TimeSpan.Zero, cancellationToken);
        }

        if (atLeast is not null || decided is true)
        {
            context.Response.Headers[UpToDateHeader] = upToDate ? "true" : "false";
        }

        var view = await views.FindAsync<ReservationDetails>(id.ToString(), cancellationToken);
        if (view is null)
        {
            if (!upToDate)
            {
                context.Response.Headers.RetryAfter = "1";
                return TypedResults.Problem(Problems.NotFound(
                    $"Reservation {id} is not in the view yet: the view did not reach position {position} within {options.Value.ReadYourWritesTimeout.TotalSeconds:0.#} s. Try again later."));
            }

            return TypedResults.Problem(Problems.NotFound($"Reservation {id} does not exist (or is not projected yet: pass ?atLeast= with the position the write returned)."));
        }

        context.Response.Headers.ETag = $"\"{view.Version}\"";
        return TypedResults.Ok(view);
    }
}
