using EventSourcing.Commands;
using EventSourcing.Deciders;
using EventSourcing.Privacy;
using FluentValidation;
using Mediator;
using Reservations.Domain;
using Reservations.Security;

namespace Reservations.PlacingReservation;

/// <summary>The request body of <c>POST /reservations</c>.</summary>
public sealed record PlaceReservationRequest(Guid GuestId, string? GuestName, string? GuestEmail, string? GuestPhone, DateOnly Day, int PartySize);

/// <summary>
/// The command, validated before anything is loaded; its id comes from the <c>Idempotency-Key</c> header. Its personal
/// values are marked as in the event: the key's fingerprint hashes them under the guest's data key, so once the guest is
/// forgotten a replayed key is answered alike whatever name it carries.
/// </summary>
public sealed record PlaceReservationCommand(
    Guid ReservationId,
    [property: DataSubject] Guid GuestId,
    [property: PersonalData] string GuestName,
    [property: PersonalData] string GuestEmail,
    [property: PersonalData] string? GuestPhone,
    DateOnly Day,
    int PartySize)
    : ICommand<CommandResult>, IIdempotentCommand
{
    public Guid CommandId { get; init; }
}

public sealed class PlaceReservationValidator : AbstractValidator<PlaceReservationCommand>
{
    public PlaceReservationValidator(TimeProvider timeProvider)
    {
        RuleFor(c => c.GuestId).NotEmpty();
        RuleFor(c => c.GuestName).NotEmpty().MaximumLength(100);
        RuleFor(c => c.GuestEmail).NotEmpty().MaximumLength(254).EmailAddress();
        RuleFor(c => c.GuestPhone).MaximumLength(32).Matches(@"^\+?[0-9 ()\-]{3,32}$").When(c => c.GuestPhone is not null);
        RuleFor(c => c.PartySize).InclusiveBetween(1, 12);
        RuleFor(c => c.Day)
            .Must(day => day >= DateOnly.FromDateTime(timeProvider.GetUtcNow().UtcDateTime))
            .WithMessage("The day must not be in the past.");
    }
}

public sealed class PlaceReservationHandler(DeciderHandler<ReservationCommand, ReservationEvent, Reservation> handler, TimeProvider timeProvider)
    : ICommandHandler<PlaceReservationCommand, CommandResult>
{
    public async ValueTask<CommandResult> Handle(PlaceReservationCommand command, CancellationToken cancellationToken) =>
        await handler.HandleAsync(
            ReservationDecider.StreamOf(command.ReservationId),
            new PlaceReservation(command.ReservationId, command.GuestId, command.GuestName, command.GuestEmail, command.GuestPhone, command.Day, command.PartySize, timeProvider.GetUtcNow()),
            Requests.Metadata(command.CommandId),
            cancellationToken);
}

public static class PlaceReservationEndpoint
{
    public sealed record Placed(Guid Id, string Status, long Position);

    public static RouteGroupBuilder MapPlaceReservation(this RouteGroupBuilder group)
    {
        group.MapPost("/reservations", PlaceAsync)
            .WithName("PlaceReservation")
            .WithSummary("Places a tentative reservation; it is confirmed or rejected (sold out) shortly after.")
            .Accepts<PlaceReservationRequest>("application/json")
            .Produces<Placed>(StatusCodes.Status202Accepted)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .RequireWriteRateLimit();
        return group;
    }

    private static async Task<IResult> PlaceAsync(PlaceReservationRequest request, HttpContext context, IMediator mediator, CancellationToken cancellationToken)
    {
        var commandId = Requests.CommandId(context);
        var reservationId = commandId == Guid.Empty ? Guid.CreateVersion7() : commandId; // a retried key places the same reservation
        var command = new PlaceReservationCommand(reservationId, request.GuestId, request.GuestName ?? string.Empty, request.GuestEmail ?? string.Empty, request.GuestPhone, request.Day, request.PartySize)
        {
            CommandId = commandId,
        };
        var result = await mediator.Send(command, cancellationToken);
        return TypedResults.Accepted($"/reservations/{reservationId}", new Placed(reservationId, "tentative", result.Position));
    }
}
