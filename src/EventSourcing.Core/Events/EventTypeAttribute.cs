namespace EventSourcing.Events;

/// <summary>
/// The stable name an event type is stored under (kebab-case, versioned: <c>reservation-placed.v1</c>), with older
/// names it is still read under. Named types are registered by an assembly scan: those derived from a registered
/// decider's event type at once, any other with <c>AddEventTypesFrom</c>. <c>AddEvent</c> stays for types that cannot
/// carry the attribute; upcasters are added on <see cref="EventTypeRegistry"/>.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Struct, Inherited = false)]
public sealed class EventTypeAttribute : Attribute
{
    /// <summary>Names the event type.</summary>
    /// <param name="name">The stored name.</param>
    /// <param name="aliases">Older names events of this type are still read under.</param>
    public EventTypeAttribute(string name, params string[] aliases)
    {
        Name = name;
        Aliases = aliases ?? [];
    }

    /// <summary>The stored name.</summary>
    public string Name { get; }

    /// <summary>Older names events of this type are still read under.</summary>
    public IReadOnlyList<string> Aliases { get; }
}
