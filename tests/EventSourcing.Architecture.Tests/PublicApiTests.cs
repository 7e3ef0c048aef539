using System.Reflection;
using System.Runtime.CompilerServices;
using PublicApiGenerator;

namespace EventSourcing.Architecture.Tests;

/// <summary>
/// Each package's public API, approved: <c>PublicApi/{package}.txt</c> holds it as PublicApiGenerator writes it, so every
/// change to the API shows in review. When it changes, the test writes <c>{package}.received.txt</c> beside it and fails;
/// review the difference and, if it is meant, copy the received file over the approved one.
/// </summary>
public sealed class PublicApiTests
{
    public static TheoryData<string> PackageNames => [.. Packages.All.Select(assembly => assembly.GetName().Name!)];

    [Theory]
    [MemberData(nameof(PackageNames))]
    public void The_public_api_is_the_approved_one(string package)
    {
        var assembly = Packages.Named(package);
        var api = assembly.GeneratePublicApi(new ApiGeneratorOptions
        {
            // Who may see the internals is recorded separately (below), not as part of the API.
            ExcludeAttributes =
            [
                typeof(InternalsVisibleToAttribute).FullName!, "System.Runtime.Versioning.TargetFrameworkAttribute", "System.Reflection.AssemblyMetadataAttribute",
                typeof(AsyncIteratorStateMachineAttribute).FullName!, typeof(AsyncStateMachineAttribute).FullName!, // names of compiler-generated types, not API
                // The contract suites' test attributes carry the source file and line they were compiled from (xUnit's caller info).
                "Xunit.FactAttribute", "Xunit.TheoryAttribute", "Xunit.InlineDataAttribute", "Xunit.MemberDataAttribute",
            ],
        }).ReplaceLineEndings("\n");
        var folder = Path.Combine(Packages.RepositoryRoot(), "tests", "EventSourcing.Architecture.Tests", "PublicApi");
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
}
