using System.Collections;
using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace EventSourcing.Privacy;

/// <summary>
/// Adds crypto-shredding to System.Text.Json: a type-info modifier that protects <see cref="PersonalDataAttribute"/>
/// properties under the subject named by <see cref="DataSubjectAttribute"/>, and flags <see cref="PersonalDataErasedAttribute"/>
/// properties after an erased read. Put on every serializer that writes events, views, snapshots or stored results.
/// </summary>
public static class PersonalDataJson
{
    private static readonly ConcurrentDictionary<Type, TypePlan> Plans = new();

    /// <summary>The name of an event's property of sealed groups, in UTF-8.</summary>
    internal static ReadOnlySpan<byte> SealedGroupsPropertyUtf8 => "#"u8;

    /// <summary>
    /// The modifier; <paramref name="protector"/> is asked for the protector on first use. With <paramref name="fingerprint"/>
    /// personal values are written as their keyed hashes (<see cref="PersonalDataProtector.Fingerprint"/>) instead of
    /// encrypted: for comparing payloads (idempotency), never for storing data to read back. The types
    /// <paramref name="isEvent"/> accepts (the registered event types) that hold personal data get the <c>"#"</c> property
    /// of sealed groups: written inside <see cref="SealPerEvent"/>, each subject's values in one such event are sealed
    /// together, in one AES-GCM operation (format version 2), and both versions are read.
    /// </summary>
    public static Action<JsonTypeInfo> Modifier(Func<PersonalDataProtector> protector, bool fingerprint = false, Func<Type, bool>? isEvent = null)
    {
        ArgumentNullException.ThrowIfNull(protector);
        return typeInfo =>
        {
            if (typeInfo.Kind != JsonTypeInfoKind.Object)
            {
                return;
            }

            var plan = PlanFor(typeInfo.Type);
            MarkScopedProperties(typeInfo, plan);
            if (!fingerprint && plan.HoldsPersonal && isEvent?.Invoke(typeInfo.Type) == true)
            {
                AddSealedGroups(typeInfo, protector);
            }
            if (!plan.IsRelevant)
            {
                return;
            }

            if (plan.Subject is { } subject)
            {
                var previousSerializing = typeInfo.OnSerializing;
                var previousSerialized = typeInfo.OnSerialized;
                typeInfo.OnSerializing = value =>
                {
                    previousSerializing?.Invoke(value);
                    PersonalDataScope.Enter(subject.GetValue(value)?.ToString());
                };
                typeInfo.OnSerialized = value =>
                {
                    PersonalDataScope.Leave();
                    previousSerialized?.Invoke(value);
                };
            }

            foreach (var property in typeInfo.Properties)
            {
                if (property.AttributeProvider is PropertyInfo clr && plan.Personal.TryGetValue(clr.Name, out var attribute))
                {
                    property.CustomConverter = (JsonConverter)Activator.CreateInstance(
                        typeof(PersonalDataConverter<>).MakeGenericType(property.PropertyType),
                        protector, $"{typeInfo.Type.Name}.{clr.Name}", attribute.Replacement, fingerprint)!;
                }
            }

            if (plan.Checks)
            {
                var previous = typeInfo.OnDeserialized;
                var typeName = typeInfo.Type.Name;
                typeInfo.OnDeserialized = value =>
                {
                    previous?.Invoke(value);
                    var erased = PersonalDataScope.EndObject(plan.Subject is not null, plan.Subject?.GetValue(value)?.ToString(), typeName);
                    if (erased && plan.ErasedFlag is { } flag)
                    {
                        flag.SetValue(value, true);
                    }
                };
            }
        };
    }

    /// <summary>
    /// Until disposed, the events written on this asynchronous flow (as the outermost object a serializer writes) seal
    /// the personal values of each subject together: one AES-GCM operation per subject per event, format version 2, with
    /// the groups in the event's <c>"#"</c> property. For stores that write events through serializers of their own
    /// (Marten's); a store that keeps the JSON as written must put <c>"#"</c> first, as the EventSourcing event
    /// serializer does, so that a reader meets the groups before the values that refer to them (PostgreSQL's <c>jsonb</c>
    /// does by itself). Readers through the EventSourcing serializers and stores open both versions; a reader that
    /// deserializes the stored JSON by itself (Marten's own event loading, for one) reads each reference of version 2 as
    /// erased (the placeholder, or the field's replacement), never the value.
    /// </summary>
    public static SealPerEventScope SealPerEvent() => new(SealedGroups.Set(true));

    /// <summary>
    /// Opens the sealed groups (format version 2) at the front of an event's <paramref name="json"/> for the read of it as
    /// <paramref name="typeInfo"/> that follows on this thread, inside the read's <see cref="BeginRead"/>; nothing when it has none.
    /// </summary>
    internal static void OpenSealedGroups(ReadOnlySpan<byte> json, JsonTypeInfo typeInfo, string location)
    {
        if (!SealedGroups.StartsWithGroups(json))
        {
            SealedGroups.OpenNone(); // a reference in it then refers to nothing: tampered, not sealed
            return;
        }

        var properties = typeInfo.Properties; // an IList: indexed, so that no enumerator is boxed per read
        for (var i = 0; i < properties.Count; i++)
        {
            if (properties[i].CustomConverter is SealedGroupsConverter groups && properties[i].Name == SealedGroups.PropertyName)
            {
                groups.Open(json, location);
                return;
            }
        }
    }

    /// <summary>The subjects named by <paramref name="value"/> and the objects it holds, for loading their keys ahead of writing.</summary>
    public static IEnumerable<string> SubjectsOf(object? value)
    {
        var subjects = new HashSet<string>(StringComparer.Ordinal);
        Collect(value, subjects, depth: 0);
        return subjects;
    }

    /// <summary>
    /// Starts one read on this thread: what a failed read left behind is cleared, and <see cref="ErasedRead.Erased"/>
    /// then says whether the value read met an erased personal value. The serializer that reads owns the scope.
    /// </summary>
    internal static ErasedRead BeginRead()
    {
        PersonalDataScope.Reset();
        return default;
    }

    /// <summary>Whether <paramref name="member"/> of <paramref name="type"/> is <see cref="PersonalDataAttribute"/> data (on the property or its record parameter).</summary>
    internal static bool IsPersonal(Type type, string member) => PlanFor(type).Personal.ContainsKey(member);

    /// <summary>
    /// Whether <paramref name="type"/> declares <see cref="PersonalDataAttribute"/> data, on itself or on the objects it
    /// may hold (by their declared types).
    /// </summary>
    internal static bool HoldsPersonalData(Type type) => PlanFor(type).HoldsPersonal;

    /// <summary>
    /// The misuses of the attributes in <paramref name="root"/> and the objects it may hold, one message each: a
    /// <see cref="PersonalDataAttribute"/> value with no <see cref="DataSubjectAttribute"/> on its object or on an object holding it.
    /// </summary>
    internal static IReadOnlyList<string> Misuses(Type root)
    {
        ArgumentNullException.ThrowIfNull(root);
        var misuses = new List<string>();
        Check(root, root.Name, subjectInReach: false, [], misuses);
        return misuses;
    }

    /// <summary>The personal fields of <paramref name="root"/> and of the objects it may hold (<c>Type.Property</c>).</summary>
    internal static IReadOnlyList<string> PersonalFields(Type root)
    {
        ArgumentNullException.ThrowIfNull(root);
        var fields = new SortedSet<string>(StringComparer.Ordinal);
        CollectPersonalFields(root, [], fields);
        return [.. fields];
    }

    private static void CollectPersonalFields(Type type, HashSet<Type> visiting, SortedSet<string> fields)
    {
        if (TypePlan.ElementOf(type) is { } element)
        {
            CollectPersonalFields(element, visiting, fields);
            return;
        }

        if (TypePlan.IsLeafType(type) || !visiting.Add(type))
        {
            return;
        }

        var plan = PlanFor(type);
        fields.UnionWith(plan.Personal.Keys.Select(name => $"{type.Name}.{name}"));
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.GetIndexParameters().Length == 0))
        {
            CollectPersonalFields(property.PropertyType, visiting, fields);
        }

        visiting.Remove(type);
    }

    private static void Check(Type type, string path, bool subjectInReach, HashSet<Type> visiting, List<string> misuses)
    {
        if (TypePlan.ElementOf(type) is { } element)
        {
            Check(element, path, subjectInReach, visiting, misuses);
            return;
        }

        if (TypePlan.IsLeafType(type) || !visiting.Add(type))
        {
            return;
        }

        var plan = PlanFor(type);
        subjectInReach |= plan.Subject is not null;
        if (!subjectInReach && plan.Personal.Count > 0)
        {
            misuses.Add(
                $"{path} holds personal data ({string.Join(", ", plan.Personal.Keys.Order(StringComparer.Ordinal).Select(name => $"{type.Name}.{name}"))}) " +
                $"but neither {type.Name} nor an object holding it has a [DataSubject] property, so nobody's key could encrypt it. Mark the property naming whose data it is " +
                "with [DataSubject]. On a positional record parameter passed on to a base record, [property: DataSubject] is lost (no property is declared there): " +
                "put the attribute on the base record's parameter.");
        }

        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetIndexParameters().Length == 0 && !plan.Personal.ContainsKey(property.Name))
            {
                Check(property.PropertyType, $"{path}.{property.Name}", subjectInReach, visiting, misuses);
            }
        }

        visiting.Remove(type);
    }

    private static void Collect(object? value, HashSet<string> subjects, int depth)
    {
        if (value is null || depth > 8 || PlanFor(value.GetType()) is not { MayHoldSubjects: true } plan)
        {
            return;
        }

        if (value is IEnumerable items and not string)
        {
            foreach (var item in items)
            {
                Collect(item, subjects, depth + 1);
            }

            return;
        }

        if (plan.Subject?.GetValue(value)?.ToString() is { Length: > 0 } subject)
        {
            subjects.Add(subject);
        }

        foreach (var nested in plan.Nested)
        {
            Collect(nested.GetValue(value), subjects, depth + 1);
        }
    }

    /// <summary>
    /// Adds the <c>"#"</c> property of sealed groups to an event type (written last, and only by the outermost event
    /// of a write that seals per event; read wherever it is), and marks where the event's writing begins and ends.
    /// </summary>
    private static void AddSealedGroups(JsonTypeInfo typeInfo, Func<PersonalDataProtector> protector)
    {
        var groups = typeInfo.CreateJsonPropertyInfo(typeof(SealedGroupsConverter.Marker), SealedGroups.PropertyName);
        groups.CustomConverter = new SealedGroupsConverter(protector);
        groups.Get = static _ => SealedGroupsConverter.Marker.Instance;
        groups.Set = static (_, _) => { };
        groups.ShouldSerialize = static (_, _) => SealedGroups.HasGroupsToWrite();
        groups.Order = int.MaxValue;
        typeInfo.Properties.Add(groups);

        var previousSerializing = typeInfo.OnSerializing;
        var previousSerialized = typeInfo.OnSerialized;
        typeInfo.OnSerializing = value =>
        {
            previousSerializing?.Invoke(value);
            SealedGroups.EventWriting();
        };
        typeInfo.OnSerialized = value =>
        {
            SealedGroups.EventWritten();
            previousSerialized?.Invoke(value);
        };
    }

    /// <summary>
    /// Puts <see cref="ScopedValueConverter{T}"/> on every property (not itself personal) whose value may hold an object
    /// with a subject or an erased flag, so that object's reading has a known start.
    /// </summary>
    private static void MarkScopedProperties(JsonTypeInfo typeInfo, TypePlan plan)
    {
        foreach (var property in typeInfo.Properties)
        {
            if (property.CustomConverter is null && property.AttributeProvider is PropertyInfo clr && !plan.Personal.ContainsKey(clr.Name)
                && PlanFor(property.PropertyType).Scoped)
            {
                property.CustomConverter = (JsonConverter)Activator.CreateInstance(
                    typeof(ScopedValueConverter<>).MakeGenericType(property.PropertyType), [plan.Checks])!;
            }
        }
    }

    private static TypePlan PlanFor(Type type) => Plans.GetOrAdd(type, static t => TypePlan.Build(t, []));

    /// <summary>What a type holds: its subject property, its personal properties, its erased flag, and nested objects that may name subjects.</summary>
    /// <remarks>
    /// <c>Scoped</c>: it, or an object it may hold, has a subject or an erased flag. <c>HoldsPersonal</c>: it, or an
    /// object it may hold, has a personal property.
    /// </remarks>
    private sealed record TypePlan(PropertyInfo? Subject, IReadOnlyDictionary<string, PersonalDataAttribute> Personal, PropertyInfo? ErasedFlag, IReadOnlyList<PropertyInfo> Nested, bool MayHoldSubjects, bool Scoped, bool HoldsPersonal)
    {
        public bool IsRelevant => Personal.Count > 0 || Checks;

        /// <summary>Whether reading it checks the values read inside it: it has a subject or an erased flag.</summary>
        public bool Checks => Subject is not null || ErasedFlag is not null;

        public static TypePlan Build(Type type, HashSet<Type> visiting)
        {
            if (IsLeaf(type) || !visiting.Add(type))
            {
                return new TypePlan(null, new Dictionary<string, PersonalDataAttribute>(), null, [], false, false, false);
            }

            if (ElementType(type) is { } element)
            {
                var inner = Build(element, visiting);
                return new TypePlan(null, new Dictionary<string, PersonalDataAttribute>(), null, [], inner.MayHoldSubjects, inner.Scoped, inner.HoldsPersonal);
            }

            var parameters = type.GetConstructors().SelectMany(c => c.GetParameters()).ToLookup(p => p.Name ?? string.Empty, StringComparer.OrdinalIgnoreCase);
            var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.GetIndexParameters().Length == 0).ToArray();
            T? Attribute<T>(PropertyInfo property)
                where T : Attribute =>
                property.GetCustomAttribute<T>() ?? parameters[property.Name].Select(p => p.GetCustomAttribute<T>()).FirstOrDefault(a => a is not null);

            var subject = properties.FirstOrDefault(p => Attribute<DataSubjectAttribute>(p) is not null);
            var personal = properties.Select(p => (p.Name, Attribute: Attribute<PersonalDataAttribute>(p))).Where(p => p.Attribute is not null)
                .ToDictionary(p => p.Name, p => p.Attribute!, StringComparer.Ordinal);
            var flag = properties.FirstOrDefault(p => p.PropertyType == typeof(bool) && Attribute<PersonalDataErasedAttribute>(p) is not null);
            var members = properties.Select(p => (Property: p, Plan: Build(p.PropertyType, visiting))).ToArray();
            var nested = members.Where(p => p.Plan.MayHoldSubjects).Select(p => p.Property).ToArray();
            visiting.Remove(type);
            return new TypePlan(subject, personal, flag, nested, subject is not null || nested.Length > 0,
                subject is not null || flag is not null || members.Any(p => p.Plan.Scoped),
                personal.Count > 0 || members.Any(p => p.Plan.HoldsPersonal));
        }

        public static bool IsLeafType(Type type) => IsLeaf(type);

        public static Type? ElementOf(Type type) => ElementType(type);

        private static bool IsLeaf(Type type) =>
            type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(Guid)
            || type == typeof(DateTime) || type == typeof(DateTimeOffset) || type == typeof(DateOnly) || type == typeof(TimeOnly) || type == typeof(TimeSpan)
            || Nullable.GetUnderlyingType(type) is not null || type.Namespace?.StartsWith("System", StringComparison.Ordinal) == true && !typeof(IEnumerable).IsAssignableFrom(type);

        private static Type? ElementType(Type type) =>
            type.IsArray ? type.GetElementType()
            : type.IsGenericType && typeof(IEnumerable).IsAssignableFrom(type) ? type.GetGenericArguments()[^1]
            : null;
    }
}

/// <summary>One read by a serializer (<see cref="PersonalDataJson.BeginRead"/>): whether it met an erased value, then nothing left behind.</summary>
internal readonly struct ErasedRead : IDisposable
{
    /// <summary>Whether the value read since the scope began met an erased personal value (asked once, after the read).</summary>
#pragma warning disable CA1822 // the state is the thread's, read through the scope that owns it
    public bool Erased => PersonalDataScope.TakeErased();
#pragma warning restore CA1822

    /// <summary>Clears this thread's read state.</summary>
    public void Dispose() => PersonalDataScope.Reset();
}

/// <summary>Ends a <see cref="PersonalDataJson.SealPerEvent"/>: the flow seals per event again only if it did before.</summary>
public readonly struct SealPerEventScope : IDisposable, IEquatable<SealPerEventScope>
{
    private readonly bool _previous;

    internal SealPerEventScope(bool previous) => _previous = previous;

    /// <summary>Restores what the flow did before.</summary>
    public void Dispose() => SealedGroups.Set(_previous);

    /// <inheritdoc />
    public bool Equals(SealPerEventScope other) => _previous == other._previous;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is SealPerEventScope other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => _previous.GetHashCode();

    /// <summary>Whether two scopes restore the same.</summary>
    public static bool operator ==(SealPerEventScope left, SealPerEventScope right) => left.Equals(right);

    /// <summary>Whether two scopes restore differently.</summary>
    public static bool operator !=(SealPerEventScope left, SealPerEventScope right) => !left.Equals(right);
}
