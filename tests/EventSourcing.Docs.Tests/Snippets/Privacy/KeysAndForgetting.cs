using EventSourcing.Erasure;
using EventSourcing.Hosting;
using EventSourcing.Marten.Hosting;
using EventSourcing.Privacy;
using Microsoft.Extensions.DependencyInjection;

namespace EventSourcing.Docs.Tests.Snippets.Privacy;

// docs/privacy.md, "Keys" and "Forgetting".
internal static class KeysAndForgetting
{
    public static void UseKeyDatabase(IServiceCollection services, string eventsConnectionString, string keysConnectionString)
    {
        services.AddEventSourcing(es => es
            .UseMarten(eventsConnectionString)
            .UseKeyDatabase(keysConnectionString));   // optional: the keys in a PostgreSQL database of their own
    }

    public static async Task ForgetAsync(PersonalDataEraser eraser, Guid guestId, CancellationToken ct)
    {
        await eraser.ForgetAsync(guestId.ToString(), ct);      // PersonalDataEraser (EventSourcing.Erasure)
    }
}
