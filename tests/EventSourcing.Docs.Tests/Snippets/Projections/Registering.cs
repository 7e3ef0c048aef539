using EventSourcing.Hosting;
using EventSourcing.Projections;
using EventSourcing.Testing.Contracts.Domain;
using Microsoft.Extensions.DependencyInjection;

namespace EventSourcing.Docs.Tests.Snippets.Projections;

// docs/projections.md, "Defining one": registering projections, one per lifecycle (the other two are the tests' own,
// from src/EventSourcing.Testing.Contracts/Domain/TallyProjections.cs).
internal static class Registering
{
    public static void Register(IServiceCollection services)
    {
        services.AddEventSourcing(es => es
            .AddProjection(new TallyViewProjection())                                  // async (the default)
            .AddProjection(new BucketTotalsProjection(), ProjectionLifecycle.Inline)
            .AddProjection(new OpenTalliesProjection(), ProjectionLifecycle.Live));    // folded from the stream on each read
    }
}
