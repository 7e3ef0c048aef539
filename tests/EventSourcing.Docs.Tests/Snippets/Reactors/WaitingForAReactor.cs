using EventSourcing.Reactors;
using Microsoft.Extensions.DependencyInjection;
using Reservations.Domain;

namespace EventSourcing.Docs.Tests.Snippets.Reactors;

// docs/reactors.md, "Waiting for a reactor".
internal static class WaitingForAReactor
{
    public static async Task<bool> WaitAsync(IServiceProvider services, long position, CancellationToken cancellationToken)
    {
        var reactors = services.GetRequiredService<ReactorStatusReader>();
        var passed = await reactors.WaitForAsync(ConfirmationReactor.ReactorName, position, TimeSpan.FromSeconds(5), cancellationToken);
        return passed;
    }
}
