using System.Reflection;
using System.Text;
using EventSourcing.Events;
using Mirror = EventSourcing.Docs.Tests.Snippets.Architecture;

namespace EventSourcing.Docs.Tests;

/// <summary>
/// docs/architecture.md shows the contracts as declarations, compiled in Snippets/Architecture beside the real types.
/// Each type shown must be the real type of its name, with the same kind, bases and members (the doc may leave
/// members out, never change or add one).
/// </summary>
public sealed class ContractTests
{
    private const BindingFlags Declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    private static readonly Assembly[] Libraries = [typeof(EventEnvelope).Assembly, typeof(EventSourcing.Marten.Hosting.MartenEventSourcingExtensions).Assembly];

    public static TheoryData<string> ShownTypes() =>
        [.. typeof(Mirror.EventEnvelope).Assembly.GetTypes().Where(IsShown).Select(type => type.Name).Order(StringComparer.Ordinal)];

    [Theory]
    [MemberData(nameof(ShownTypes))]
    public void The_contract_shown_is_the_real_one(string name)
    {
        var shown = typeof(Mirror.EventEnvelope).Assembly.GetTypes().Single(type => IsShown(type) && type.Name == name);
        var real = Assert.Single(Libraries.SelectMany(library => library.GetExportedTypes()), type => type.Name == name);

        Assert.Equal(Kind(real), Kind(shown));
        Assert.Equal(Format(real.BaseType), Format(shown.BaseType));
        Assert.Subset(real.GetInterfaces().Select(Format).ToHashSet(), shown.GetInterfaces().Select(Format).ToHashSet());
        var realMembers = Members(real).ToHashSet(StringComparer.Ordinal);
        var unknown = Members(shown).Where(member => !realMembers.Contains(member)).ToList();
        Assert.True(unknown.Count == 0, $"docs/architecture.md shows members {name} does not have:{Environment.NewLine}{string.Join(Environment.NewLine, unknown)}");
    }

    [Fact]
    public void The_command_id_shown_is_the_one_a_reactor_derives()
    {
        var eventId = Guid.Parse("0197a1b2-3c4d-7e8f-9012-3456789abcde");
        var real = new RealReactor().IdFor(new EventEnvelope(eventId, "s", 1, 1, "t", new object(), EventMetadata.Empty, DateTimeOffset.UnixEpoch));
        var shown = new ShownReactor().IdFor(new Mirror.EventEnvelope(eventId, "s", 1, 1, "t", new object(), EventMetadata.Empty, DateTimeOffset.UnixEpoch));

        Assert.Equal(real, shown);
    }

    /// <summary>The types declared by the doc's blocks (the doc's IProjection is a stand-in: the real one's members are not shown).</summary>
    private static bool IsShown(Type type) =>
        type.Namespace == typeof(Mirror.EventEnvelope).Namespace && type.IsPublic && type != typeof(Mirror.IProjection);

    private static string Kind(Type type) =>
        $"{(type.IsInterface ? "interface" : type.IsValueType ? "struct" : "class")}{(type.IsAbstract && !type.IsInterface ? " abstract" : "")}{(type.IsSealed ? " sealed" : "")}";

    /// <summary>Every public or protected member, as a line naming its kind, types (without namespaces) and parameter names.</summary>
    private static IEnumerable<string> Members(Type type)
    {
        foreach (var constructor in type.GetConstructors(Declared).Where(Visible))
        {
            yield return $"constructor({Parameters(constructor)})";
        }

        foreach (var method in type.GetMethods(Declared).Where(m => Visible(m) && !m.IsSpecialName))
        {
            var generic = method.IsGenericMethodDefinition ? $"<{string.Join(", ", method.GetGenericArguments().Select(a => a.Name))}>" : "";
            yield return $"{Modifiers(method)}{Format(method.ReturnType)} {method.Name}{generic}({Parameters(method)})";
        }

        foreach (var property in type.GetProperties(Declared))
        {
            var accessors = new[] { property.GetMethod, property.SetMethod }.Where(a => a is not null && Visible(a)).ToList();
            if (accessors.Count > 0)
            {
                var setter = property.SetMethod is { } set && Visible(set)
                    ? set.ReturnParameter.GetRequiredCustomModifiers().Any(m => m.Name == "IsExternalInit") ? " init;" : " set;"
                    : "";
                yield return $"{Modifiers(accessors[0]!)}{Format(property.PropertyType)} {property.Name} {{{(property.GetMethod is { } get && Visible(get) ? " get;" : "")}{setter} }}";
            }
        }
    }

    private static bool Visible(MethodBase member) => member.IsPublic || member.IsFamily || member.IsFamilyOrAssembly;

    private static string Modifiers(MethodBase member) =>
        $"{(member.IsPublic ? "public " : "protected ")}{(member.IsStatic ? "static " : "")}{(member.IsAbstract ? "abstract " : member.IsVirtual && !member.IsFinal ? "virtual " : "")}";

    private static string Parameters(MethodBase method) =>
        string.Join(", ", method.GetParameters().Select(p => $"{Format(p.ParameterType)} {p.Name}{(p.HasDefaultValue ? " = " + (p.DefaultValue ?? "default") : "")}"));

    private static string Format(Type? type)
    {
        if (type is null)
        {
            return "none";
        }

        if (type.IsByRef || type.IsArray || type.IsPointer)
        {
            var suffix = type.IsByRef ? "&" : type.IsArray ? "[]" : "*";
            return Format(type.GetElementType()) + suffix;
        }

        if (!type.IsGenericType)
        {
            return type.Name;
        }

        var name = new StringBuilder(type.Name[..type.Name.IndexOf('`', StringComparison.Ordinal)]);
        return name.Append('<').AppendJoin(", ", type.GetGenericArguments().Select(Format)).Append('>').ToString();
    }

    private sealed class RealReactor : Reactors.Reactor
    {
        public override string Name => "reservation-confirmation";

        public Guid IdFor(EventEnvelope envelope) => CommandIdFor(envelope, "hold");

        public override Task ReactAsync(EventEnvelope envelope, CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private sealed class ShownReactor : Mirror.Reactor
    {
        public override string Name => "reservation-confirmation";

        public Guid IdFor(Mirror.EventEnvelope envelope) => CommandIdFor(envelope, "hold");

        public override Task ReactAsync(Mirror.EventEnvelope envelope, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
