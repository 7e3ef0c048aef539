using EventSourcing.Commands;
using EventSourcing.Deciders;
using EventSourcing.Storage;
using Mediator;
using Reservations.Domain;
using Reservations.Security;

namespace Reservations.CancellingReservation;

public sealed record CancelReservationCommand(Guid ReservationId, long? IfMatch) : ICommand<CommandResult>, IIdempotentCommand
{
    public Guid CommandId { get; init; }
}

public sealed class CancelReservationHandler(DeciderHandler<ReservationCommand, ReservationEvent, Reservation> handler, TimeProvider timeProvider)
    : ICommandHandler<CancelReservationCommand, CommandResult>
{
    public async ValueTask<CommandResult> Handle(CancelReservationCommand command, CancellationToken cancellationToken) =>
        await handler.HandleAsync(
            ReservationDecider.StreamOf(command.ReservationId),
            new CancelReservation(command.ReservationId, timeProvider.GetUtcNow()),
            Requests.Metadata(command.CommandId),
            command.IfMatch is { } version ? ExpectedVersion.Exact(version) : ExpectedVersion.Any,
            cancellationToken);
}

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

    private static async Task<IResult> CancelAsync(Guid id, HttpContext context, IMediator mediator, CancellationToken cancellationToken)
    {
        var command = new CancelReservationCommand(id, Requests.IfMatch(context)) { CommandId = Requests.CommandId(context) };
        var result = await mediator.Send(command, cancellationToken);
        context.Response.Headers.ETag = $"\"{result.StreamVersion}\"";
        return TypedResults.Ok(new Cancelled(id, "cancelled", result.StreamVersion, result.Position));
    }
}
