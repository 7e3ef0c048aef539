using EventSourcing.Deciders;
using FluentValidation;
using Reservations.Domain;
using Reservations.Security;

namespace Reservations.PlacingReservation;

/// <summary>The request body of <c>POST /reservations</c>.</summary>
public sealed record PlaceReservationRequest(Guid GuestId, string? GuestName, string? GuestEmail, string? GuestPhone, DateOnly Day, int PartySize);

/// <summary>The placement's rules, checked before anything is loaded; the day is compared with the time the command was received.</summary>
public sealed class PlaceReservationValidator : AbstractValidator<PlaceReservation>
{
    public PlaceReservationValidator()
    {
        RuleFor(c => c.GuestId).NotEmpty();
        RuleFor(c => c.GuestName).NotEmpty().MaximumLength(100);
        RuleFor(c => c.GuestEmail).NotEmpty().MaximumLength(254).EmailAddress();
        RuleFor(c => c.GuestPhone).MaximumLength(32).Matches(@"^\+?[0-9 ()\-]{3,32}$").When(c => c.GuestPhone is not null);
        RuleFor(c => c.PartySize).InclusiveBetween(1, 12);
        RuleFor(c => c.Day)
            .Must((command, day) => day >= DateOnly.FromDateTime(command.Now.UtcDateTime))
            .WithMessage("The day must not be in the past.");
    }
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

    private static async Task<IResult> PlaceAsync(PlaceReservationRequest request, HttpContext context, ICommandSender commands, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var commandId = Requests.CommandId(context);
        var reservationId = commandId == Guid.Empty ? Guid.CreateVersion7() : commandId; // a retried key places the same reservation
        var command = new PlaceReservation(
            reservationId, request.GuestId, request.GuestName ?? string.Empty, request.GuestEmail ?? string.Empty, request.GuestPhone, request.Day, request.PartySize, timeProvider.GetUtcNow())
        {
            CommandId = commandId,
        };
        var result = await commands.SendAsync(command, cancellationToken);
        return TypedResults.Accepted($"/reservations/{reservationId}", new Placed(reservationId, "tentative", result.Position));
    }
}
