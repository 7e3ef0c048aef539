using EventSourcing.Deciders;
using FluentValidation;
using Reservations.Domain;
using Reservations.OpenApi;
using Reservations.Security;

namespace Reservations.PlacingReservation;

/// <summary>The request body of <c>POST /reservations</c>; its schema carries <see cref="PlaceReservationValidator"/>'s rules.</summary>
[ValidatedAs(typeof(PlaceReservation))]
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
        RuleFor(c => c.PartySize).Cascade(CascadeMode.Stop).NotEmpty().WithMessage("The party size is required: 1 to 12.").InclusiveBetween(1, 12);
        RuleFor(c => c.Day)
            .Cascade(CascadeMode.Stop)
            .NotEmpty().WithMessage("The day is required, as YYYY-MM-DD.")
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
            .WithTags(ApiDocument.Reservations)
            .WithSummary("Place a reservation")
            .WithDescription("Places a tentative reservation (202): the confirmation reactor then confirms it or rejects it (sold out) shortly after. The answer's `position` is where the placement is in the log: read the reservation with `?atLeast={position}` (or `&decided=true`) to see it. A guest whose personal data was erased cannot place again with new personal data (409).")
            .Accepts<PlaceReservationRequest>("application/json")
            .Produces<Placed>(StatusCodes.Status202Accepted)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .WithIdempotencyKey()
            .WithResponseHeader(StatusCodes.Status202Accepted, "Location", "The reservation's URL.")
            .WithRequestExample(new PlaceReservationRequest(OperationDocs.Examples.Guest, "Ada Lovelace", "ada@example.com", "+44 20 7946 0000", OperationDocs.Examples.Day, 4))
            .WithResponseExample(StatusCodes.Status202Accepted, new Placed(OperationDocs.Examples.Reservation, "tentative", 1))
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
