using System.Reflection;
using EventSourcing.Cli;
using EventSourcing.Marten.Hosting;
using EventSourcing.Nats;
using EventSourcing.OpenTelemetry;
using EventSourcing.Storage;
using EventSourcing.Testing.Contracts.Storage;
using EventSourcing.Testing.Deciders;

namespace EventSourcing.Architecture.Tests;

/// <summary>The library's packages, each by its assembly: the one list the architecture tests go through.</summary>
internal static class Packages
{
    public static readonly IReadOnlyList<Assembly> All =
    [
        typeof(IEventStore).Assembly,
        typeof(MartenEventSourcingExtensions).Assembly,
        typeof(NatsJetStreamTransport).Assembly,
        typeof(FollowersCommand).Assembly,
        typeof(EventSourcingInstrumentation).Assembly,
        typeof(DeciderSpecification).Assembly,
        typeof(EventStoreContract).Assembly,
    ];

    public static Assembly Named(string name) =>
        All.SingleOrDefault(assembly => assembly.GetName().Name == name)
        ?? throw new ArgumentOutOfRangeException(nameof(name), name, "Not a package of the library.");

    /// <summary>The first folder above the test assembly that holds EventSourcing.sln.</summary>
    public static string RepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "EventSourcing.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException($"No folder above {AppContext.BaseDirectory} holds EventSourcing.sln.");
    }
}
