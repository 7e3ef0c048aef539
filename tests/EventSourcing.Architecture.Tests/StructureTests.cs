using System.Reflection;
using System.Runtime.CompilerServices;
using EventSourcing.Cli;
using EventSourcing.Marten.Hosting;
using EventSourcing.Storage;
using NetArchTest.Rules;

namespace EventSourcing.Architecture.Tests;

/// <summary>The structure docs/architecture.md states, checked on the compiled assemblies.</summary>
public sealed class StructureTests
{
    /// <summary>
    /// Core's folders (one namespace each), in the order they may use each other: a folder uses only those before it.
    /// Diagnostics → Privacy → Events → Storage → Commands → Deciders → Erasure → Projections → Reactors → Forwarding → Hosting.
    /// </summary>
    public static readonly string[] CoreLayers = ["Diagnostics", "Privacy", "Events", "Storage", "Commands", "Deciders", "Erasure", "Projections", "Reactors", "Forwarding", "Hosting"];

    private static readonly Assembly Core = typeof(IEventStore).Assembly;

    public static TheoryData<string> Layers => [.. CoreLayers];

    [Theory]
    [MemberData(nameof(Layers))]
    public void A_folder_of_Core_uses_only_the_folders_before_it(string layer)
    {
        var later = CoreLayers.SkipWhile(name => name != layer).Skip(1).Select(name => $"EventSourcing.{name}").ToArray();
        if (later.Length == 0)
        {
            return; // Hosting, the last, may use every folder
        }

        var result = Types.InAssembly(Core).That().ResideInNamespace($"EventSourcing.{layer}").ShouldNot().HaveDependencyOnAny(later).GetResult();

        Assert.True(result.IsSuccessful, $"EventSourcing.{layer} uses a folder after it ({string.Join(", ", later)}): {string.Join(", ", result.FailingTypeNames ?? [])}");
    }

    [Fact]
    public void Every_namespace_of_Core_is_one_of_the_layers()
    {
        var namespaces = Core.GetTypes().Select(type => type.Namespace).OfType<string>()
            .Where(name => name.StartsWith("EventSourcing.", StringComparison.Ordinal))
            .Select(name => name["EventSourcing.".Length..].Split('.')[0])
            .Distinct();
        Assert.All(namespaces, name => Assert.Contains(name, CoreLayers));
    }

    [Fact]
    public void Core_references_no_database()
    {
        string[] databases = ["Npgsql", "Marten", "Weasel", "JasperFx", "Microsoft.Data", "System.Data.SqlClient", "Microsoft.EntityFrameworkCore"];
        var referenced = Core.GetReferencedAssemblies().Select(name => name.Name!).ToArray();
        Assert.DoesNotContain(referenced, name => databases.Any(database => name.StartsWith(database, StringComparison.Ordinal)));

        var result = Types.InAssembly(Core).ShouldNot().HaveDependencyOnAny(databases).GetResult();
        Assert.True(result.IsSuccessful, string.Join(", ", result.FailingTypeNames ?? []));
    }

    [Fact]
    public void Every_project_under_src_is_a_package_these_tests_check()
    {
        var projects = Directory.GetDirectories(Path.Combine(Packages.RepositoryRoot(), "src")).Select(Path.GetFileName).Order(StringComparer.Ordinal);

        Assert.Equal(projects, Packages.All.Select(assembly => assembly.GetName().Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void No_package_sees_another_packages_internals_only_its_own_tests_do()
    {
        foreach (var library in Packages.All)
        {
            var name = library.GetName().Name!;
            var friends = library.GetCustomAttributes<InternalsVisibleToAttribute>().Select(attribute => attribute.AssemblyName);
            Assert.All(friends, friend => Assert.Equal($"{name}.Tests", friend));
        }
    }

    [Fact]
    public void The_sample_sees_no_internals_of_the_library()
    {
        foreach (var library in Packages.All)
        {
            var friends = library.GetCustomAttributes<InternalsVisibleToAttribute>().Select(attribute => attribute.AssemblyName);
            Assert.DoesNotContain(friends, friend => friend.StartsWith("Reservations", StringComparison.Ordinal));
        }
    }
}
