using EventSourcing.Erasure;
using EventSourcing.Privacy;
using Reservations.Security;

namespace Reservations.ForgettingGuest;

public static class ForgetGuestEndpoint
{
    public static RouteGroupBuilder MapForgetGuest(this RouteGroupBuilder group)
    {
        group.MapDelete("/guests/{guestId:guid}/personal-data", ForgetAsync)
            .WithName("ForgetGuest")
            .WithSummary("Erases a guest's personal data everywhere (crypto-shredding): views and history then show \"[erased]\".")
            .Produces(StatusCodes.Status204NoContent)
            .RequireWriteRateLimit();
        return group;
    }

    private static async Task<IResult> ForgetAsync(Guid guestId, PersonalDataEraser eraser, CancellationToken cancellationToken)
    {
        await eraser.ForgetAsync(guestId.ToString(), cancellationToken);
        return TypedResults.NoContent();
    }
}
