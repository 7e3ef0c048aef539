using System.Reflection;
using System.Runtime.CompilerServices;
using EventSourcing.Cli;
using EventSourcing.Marten.Hosting;
using EventSourcing.Storage;
using EventSourcing.Testing.Deciders;
using PublicApiGenerator;

namespace EventSourcing.Architecture.Tests;

/// <summary>
/// Each package's public API, approved: <c>PublicApi/{package}.txt</c> holds it as PublicApiGenerator writes it, so every
/// change to the API shows in review. When it changes, the test writes <c>{package}.received.txt</c> beside it and fails;
/// review the difference and, if it is meant, copy the received file over the approved one.
/// </summary>
public sealed class PublicApiTests
{
    public static TheoryData<string> Packages => ["EventSourcing.Core", "EventSourcing.Marten", "EventSourcing.Cli", "EventSourcing.Testing"];

    [Theory]
    [MemberData(nameof(Packages))]
    public void The_public_api_is_the_approved_one(string package)
    {
        var assembly = AssemblyOf(package);
        var api = assembly.GeneratePublicApi(new ApiGeneratorOptions
        {
            // Who may see the internals is recorded separately (below), not as part of the API.
            ExcludeAttributes = [typeof(InternalsVisibleToAttribute).FullName!, "System.Runtime.Versioning.TargetFrameworkAttribute", "System.Reflection.AssemblyMetadataAttribute"],
        }).ReplaceLineEndings("\n");
        var folder = Path.Combine(RepositoryRoot(), "tests", "EventSourcing.Architecture.Tests", "PublicApi");
        var approved = Path.Combine(folder, $"{package}.txt");
        var received = Path.Combine(folder, $"{package}.received.txt");

        if (File.Exists(approved) && File.ReadAllText(approved).ReplaceLineEndings("\n") == api)
        {
            File.Delete(received);
            return;
        }

        Directory.CreateDirectory(folder);
        File.WriteAllText(received, api);
        Assert.Fail($"The public API of {package} is not the approved one. Compare {received} with {approved}; if the change is meant, copy the first over the second.");
    }

    private static Assembly AssemblyOf(string package) => package switch
    {
        "EventSourcing.Core" => typeof(IEventStore).Assembly,
        "EventSourcing.Marten" => typeof(MartenEventSourcingExtensions).Assembly,
        "EventSourcing.Cli" => typeof(FollowersCommand).Assembly,
        "EventSourcing.Testing" => typeof(DeciderSpecification).Assembly,
        _ => throw new ArgumentOutOfRangeException(nameof(package), package, "Not a package of the library."),
    };

    /// <summary>The first folder above the test assembly that holds EventSourcing.sln.</summary>
    private static string RepositoryRoot()
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
