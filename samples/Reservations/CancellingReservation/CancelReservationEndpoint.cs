using EventSourcing.Deciders;
using Reservations.Domain;
using Reservations.OpenApi;
using Reservations.Security;

namespace Reservations.CancellingReservation;

public static class CancelReservationEndpoint
{
    public sealed record Cancelled(Guid Id, string Status, long Version, long Position);

    public static RouteGroupBuilder MapCancelReservation(this RouteGroupBuilder group)
    {
        group.MapPost("/reservations/{id}/cancel", CancelAsync)
            .WithName("CancelReservation")
            .WithTags(ApiDocument.Reservations)
            .WithSummary("Cancel a reservation")
            .WithDescription("Cancels a reservation; a confirmed one gives its seats back. With `If-Match` (the version of the `ETag` last read), a reservation that changed since is not cancelled (412). Cancelling a cancelled reservation is a 409.")
            .Produces<Cancelled>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status412PreconditionFailed)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .WithIdempotencyKey()
            .WithIfMatch()
            .WithResponseHeader(StatusCodes.Status200OK, "ETag", "The reservation's version after the cancellation, quoted.")
            .WithResponseExample(StatusCodes.Status200OK, new Cancelled(OperationDocs.Examples.Reservation, "cancelled", 3, 5))
            .RequireWriteRateLimit();
        return group;
    }

    private static async Task<IResult> CancelAsync(Guid id, HttpContext context, ICommandSender commands, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var command = new CancelReservation(id, timeProvider.GetUtcNow()) { CommandId = Requests.CommandId(context), ExpectedVersion = Requests.IfMatch(context) };
        var result = await commands.SendAsync(command, cancellationToken);
        context.Response.Headers.ETag = $"\"{result.StreamVersion}\"";
        return TypedResults.Ok(new Cancelled(id, "cancelled", result.StreamVersion, result.Position));
    }
}
