using EventSourcing.Erasure;
using EventSourcing.Privacy;
using Reservations.OpenApi;
using Reservations.Security;

namespace Reservations.ForgettingGuest;

public static class ForgetGuestEndpoint
{
    public static RouteGroupBuilder MapForgetGuest(this RouteGroupBuilder group)
    {
        group.MapDelete("/guests/{guestId}/personal-data", ForgetAsync)
            .WithName("ForgetGuest")
            .WithTags(ApiDocument.Guests)
            .WithSummary("Erase a guest's personal data")
            .WithDescription("Erases the guest's personal data everywhere by deleting the guest's key (crypto-shredding): views and history then show \"[erased]\", and the guest's later requests with personal data are refused (409). Final: it cannot be undone. Erasing a guest twice, or one who never booked, is a 204 as well. Needs the admin API key.")
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
