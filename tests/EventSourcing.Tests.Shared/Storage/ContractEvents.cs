using EventSourcing.Events;

namespace EventSourcing.Tests.Shared.Storage;

public sealed record ThingHappened(string Name, int Number);

public sealed record TagsChanged(Guid Id, string[] Tags);

public sealed record NeverRegistered(string Value);

public static class ContractEvents
{
    public static EventTypeRegistry Registry() => Registry(new EventTypeRegistry());

    public static EventTypeRegistry Registry(EventTypeRegistry registry) => registry
        .Register<ThingHappened>("thing-happened.v1")
        .Register<TagsChanged>("tags-changed.v1");

    public static ThingHappened Thing(int number) => new($"thing {number}", number);
}
