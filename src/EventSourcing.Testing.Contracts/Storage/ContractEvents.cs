using EventSourcing.Events;

namespace EventSourcing.Testing.Contracts.Storage;

/// <summary>An event of the store contract: a name and a number.</summary>
public sealed record ThingHappened(string Name, int Number);

/// <summary>An event of the store contract with an array value.</summary>
public sealed record TagsChanged(Guid Id, string[] Tags);

/// <summary>An event type no registry of the contract names: appending it must be refused.</summary>
public sealed record NeverRegistered(string Value);

/// <summary>The event types of <see cref="EventStoreContract"/> and how to name them.</summary>
public static class ContractEvents
{
    /// <summary>A new registry naming the contract's events (<c>thing-happened.v1</c>, <c>tags-changed.v1</c>).</summary>
    public static EventTypeRegistry Registry() => Registry(new EventTypeRegistry());

    /// <summary>Names the contract's events in <paramref name="registry"/>, and returns it.</summary>
    public static EventTypeRegistry Registry(EventTypeRegistry registry) => registry
        .Register<ThingHappened>("thing-happened.v1")
        .Register<TagsChanged>("tags-changed.v1");

    /// <summary>The <see cref="ThingHappened"/> numbered <paramref name="number"/>.</summary>
    public static ThingHappened Thing(int number) => new($"thing {number}", number);
}
