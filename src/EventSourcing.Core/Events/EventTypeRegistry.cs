using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace EventSourcing.Events;

/// <summary>
/// The stable names under which event types are stored. A name is explicit, kebab-case and versioned
/// (<c>reservation-placed.v1</c>), never a CLR name, so types can be renamed and moved freely.
/// Old names stay readable through aliases (same shape, new type) and upcasters (old shape, transformed).
/// </summary>
/// <remarks>Register every type once at start-up; lookups are thread-safe.</remarks>
public sealed partial class EventTypeRegistry
{
    private const int MaxUpcastSteps = 64;

    private readonly ConcurrentDictionary<Type, string> _names = new();
    private readonly ConcurrentDictionary<string, Type> _types = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, EventUpcaster> _upcasters = new(StringComparer.Ordinal);

    /// <summary>The registered names and their types (aliases excluded).</summary>
    public IReadOnlyDictionary<string, Type> Registrations =>
        _names.ToDictionary(pair => pair.Value, pair => pair.Key, StringComparer.Ordinal);

    /// <summary>Registers <typeparamref name="TEvent"/> under <paramref name="name"/>, readable also under each alias.</summary>
    public EventTypeRegistry Register<TEvent>(string name, params string[] aliases) => Register(typeof(TEvent), name, aliases);

    /// <summary>Registers <paramref name="type"/> under <paramref name="name"/>, readable also under each alias.</summary>
    /// <exception cref="ArgumentException">The name is not kebab-case, or the name or type is already registered otherwise.</exception>
    public EventTypeRegistry Register(Type type, string name, params string[] aliases)
    {
        ArgumentNullException.ThrowIfNull(type);
        ArgumentNullException.ThrowIfNull(aliases);
        ValidateName(name);
        if (!_names.TryAdd(type, name) && _names[type] != name)
        {
            throw new ArgumentException($"Type {type.FullName} is already registered as '{_names[type]}'; a type has one name (older names are aliases).", nameof(type));
        }

        foreach (var storedName in aliases.Prepend(name))
        {
            ValidateName(storedName);
            if (_upcasters.ContainsKey(storedName))
            {
                throw new ArgumentException($"Name '{storedName}' already has an upcaster; it cannot also be a registered name.", nameof(aliases));
            }

            var existing = _types.GetOrAdd(storedName, type);
            if (existing != type)
            {
                throw new ArgumentException($"Name '{storedName}' is already registered for {existing.FullName}.", nameof(name));
            }
        }

        return this;
    }

    /// <summary>
    /// Registers every type of <paramref name="assembly"/> marked <see cref="EventTypeAttribute"/> (those <paramref name="filter"/>
    /// accepts, when given) under the name and aliases it carries.
    /// </summary>
    /// <exception cref="ArgumentException">A name is malformed, or a type or name is already registered otherwise.</exception>
    public EventTypeRegistry RegisterNamedTypes(System.Reflection.Assembly assembly, Func<Type, bool>? filter = null)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        foreach (var type in assembly.GetTypes())
        {
            if (NameOf(type) is { } named && (filter is null || filter(type)))
            {
                Register(type, named.Name, [.. named.Aliases]);
            }
        }

        return this;
    }

    /// <summary>
    /// Checks that every concrete type derived from <paramref name="baseType"/> in its assembly has a name, registered or
    /// carried by <see cref="EventTypeAttribute"/> (and registers the named ones): the start-up check of a decider's events.
    /// </summary>
    /// <exception cref="InvalidOperationException">Some types have no name; the message names each.</exception>
    internal void RegisterDerivedTypes(Type baseType)
    {
        if (baseType == typeof(object))
        {
            return; // a decider over any object: its events are named one by one
        }

        RegisterNamedTypes(baseType.Assembly, baseType.IsAssignableFrom);
        var unnamed = baseType.Assembly.GetTypes()
            .Where(type => !type.IsAbstract && !type.IsInterface && !type.ContainsGenericParameters && baseType.IsAssignableFrom(type) && !_names.ContainsKey(type))
            .Select(type => type.FullName)
            .Order(StringComparer.Ordinal)
            .ToArray();
        if (unnamed.Length > 0)
        {
            var first = baseType.Assembly.GetType(unnamed[0]!)!;
            throw new InvalidOperationException(
                $"Event type{(unnamed.Length > 1 ? "s" : string.Empty)} {string.Join(", ", unnamed)} (derived from {baseType.Name}, a registered decider's event type) " +
                $"{(unnamed.Length > 1 ? "have" : "has")} no stored name. Mark each with its name, for example [EventType(\"{SuggestName(first)}\")] on {first.Name}, " +
                $"or register it with AddEvent<{first.Name}>(\"{SuggestName(first)}\").");
        }
    }

    private static EventTypeAttribute? NameOf(Type type) =>
        (EventTypeAttribute?)Attribute.GetCustomAttribute(type, typeof(EventTypeAttribute), inherit: false);

    /// <summary>
    /// Declares that events stored as <paramref name="fromName"/> are read by transforming their JSON with
    /// <paramref name="upcast"/> and then reading the result as <paramref name="toName"/> (which may itself be upcast further).
    /// </summary>
    public EventTypeRegistry AddUpcaster(string fromName, string toName, Func<JsonObject, JsonObject> upcast)
    {
        ValidateName(fromName);
        ValidateName(toName);
        ArgumentNullException.ThrowIfNull(upcast);
        if (_types.ContainsKey(fromName))
        {
            throw new ArgumentException($"Name '{fromName}' is a registered type name; an upcaster reads only names no type is registered under.", nameof(fromName));
        }

        if (!_upcasters.TryAdd(fromName, new EventUpcaster(fromName, toName, upcast)))
        {
            throw new ArgumentException($"Name '{fromName}' already has an upcaster.", nameof(fromName));
        }

        return this;
    }

    /// <summary>The stored name of <paramref name="type"/>.</summary>
    /// <exception cref="UnknownEventTypeException">The type is not registered.</exception>
    public string GetName(Type type)
    {
        ArgumentNullException.ThrowIfNull(type);
        return _names.TryGetValue(type, out var name) ? name : throw new UnknownEventTypeException(type);
    }

    /// <summary>Whether <paramref name="type"/> is registered, and under which name.</summary>
    public bool TryGetName(Type type, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? name) =>
        _names.TryGetValue(type, out name);

    /// <summary>
    /// Every name events read as one of <paramref name="types"/> (or a subtype) may be stored under: registered names,
    /// aliases, and the names upcasters read from. For filtering the log where it is kept.
    /// </summary>
    public IReadOnlySet<string> StoredNamesOf(IEnumerable<Type> types)
    {
        ArgumentNullException.ThrowIfNull(types);
        var wanted = types.ToArray();
        bool Wanted(Type type) => wanted.Any(w => w.IsAssignableFrom(type));
        var names = new HashSet<string>(_types.Where(pair => Wanted(pair.Value)).Select(pair => pair.Key), StringComparer.Ordinal);
        foreach (var from in _upcasters.Keys)
        {
            if (Wanted(Resolve(from, out _)))
            {
                names.Add(from);
            }
        }

        return names;
    }

    /// <summary>The type stored under <paramref name="name"/> or one of its aliases.</summary>
    /// <exception cref="UnknownEventTypeException">No type is registered under the name.</exception>
    public Type GetType(string name) =>
        _types.TryGetValue(name, out var type) ? type : throw new UnknownEventTypeException(name);

    /// <summary>
    /// Resolves a stored name to the type to read it as, following upcasters; <paramref name="upcasters"/>
    /// lists the transformations to apply in order (empty when the name is registered directly).
    /// </summary>
    internal Type Resolve(string storedName, out IReadOnlyList<EventUpcaster> upcasters)
    {
        if (_types.TryGetValue(storedName, out var direct))
        {
            upcasters = [];
            return direct;
        }

        var chain = new List<EventUpcaster>();
        var name = storedName;
        while (_upcasters.TryGetValue(name, out var step))
        {
            chain.Add(step);
            if (chain.Count > MaxUpcastSteps)
            {
                throw new InvalidOperationException($"The upcasters from '{storedName}' form a cycle or a chain longer than {MaxUpcastSteps}.");
            }

            name = step.ToName;
            if (_types.TryGetValue(name, out var target))
            {
                upcasters = chain;
                return target;
            }
        }

        throw new UnknownEventTypeException(name);
    }

    /// <summary>A kebab-case name for <paramref name="type"/>, used in error messages.</summary>
    internal static string SuggestName(Type type)
    {
        var builder = new StringBuilder();
        foreach (var c in type.Name.Split('`')[0])
        {
            if (char.IsUpper(c) && builder.Length > 0)
            {
                builder.Append('-');
            }

            builder.Append(char.ToLowerInvariant(c));
        }

        return builder.Append(".v1").ToString();
    }

    private static void ValidateName(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (!NamePattern().IsMatch(name))
        {
            throw new ArgumentException($"Event type name '{name}' is not kebab-case with an optional version suffix (for example 'reservation-placed.v1').", nameof(name));
        }
    }

    [GeneratedRegex(@"^[a-z][a-z0-9]*(-[a-z0-9]+)*(\.v[0-9]+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();
}

/// <summary>One step that turns the JSON of an event stored under an old name into the shape of a newer name.</summary>
internal sealed record EventUpcaster(string FromName, string ToName, Func<JsonObject, JsonObject> Upcast);
