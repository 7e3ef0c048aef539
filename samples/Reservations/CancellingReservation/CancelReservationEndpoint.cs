using EventSourcing.Deciders;
using Reservations.Domain;
using Reservations.Security;

namespace Reservations.CancellingReservation;

public static class CancelReservationEndpoint
{
    public sealed record Cancelled(Guid Id, string Status, long Version, long Position);

    public static RouteGroupBuilder MapCancelReservation(this RouteGroupBuilder group)
    {
        group.MapPost("/reservations/{id:guid}/cancel", CancelAsync)
            .WithName("CancelReservation")
            .WithSummary("Cancels a reservation (If-Match: the version last read); a confirmed one gives its seats back.")
            .Produces<Cancelled>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status412PreconditionFailed)
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
