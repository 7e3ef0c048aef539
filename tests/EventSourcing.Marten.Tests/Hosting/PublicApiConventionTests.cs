using System.Reflection;
using EventSourcing.Marten.Hosting;
using EventSourcing.Storage;

namespace EventSourcing.Marten.Tests.Hosting;

/// <summary>Conventions of the public API of EventSourcing.Core and EventSourcing.Marten.</summary>
public sealed class PublicApiConventionTests
{
    private static readonly string[] ReadVerbs = ["Read", "Find", "Query", "Load", "WaitFor", "Follow", "Subscribe", "HashServing"];

    [Fact]
    public void Every_public_read_method_takes_an_optional_cancellation_token()
    {
        var offenders =
            from assembly in new[] { typeof(IEventStore).Assembly, typeof(MartenEventSourcingExtensions).Assembly }
            from type in assembly.GetExportedTypes()
            from method in type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly)
            where ReadVerbs.Any(verb => method.Name.StartsWith(verb, StringComparison.Ordinal)) && method.Name.EndsWith("Async", StringComparison.Ordinal)
            let token = method.GetParameters().LastOrDefault()
            where token?.ParameterType == typeof(CancellationToken) && !token.IsOptional
            select $"{type.FullName}.{method.Name}";

        var found = offenders.Distinct().ToList();
        Assert.True(found.Count == 0, $"Read methods whose cancellation token is not optional:{Environment.NewLine}{string.Join(Environment.NewLine, found)}");
    }
}
