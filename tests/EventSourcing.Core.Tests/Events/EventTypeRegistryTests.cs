using System.Text;
using System.Text.Json.Nodes;
using EventSourcing.Events;

namespace EventSourcing.Core.Tests.Events;

public sealed class EventTypeRegistryTests
{
    private sealed record GuestRegistered(string FullName, int Seats);

    private sealed record Other(string Value);

    [Fact]
    public void A_type_is_stored_under_its_registered_name_and_read_back()
    {
        var serializer = new SystemTextJsonEventSerializer(new EventTypeRegistry().Register<GuestRegistered>("guest-registered.v2"));

        var stored = serializer.Serialize(new GuestRegistered("Ada", 2));
        var read = serializer.Deserialize(stored.EventType, stored.Data);

        Assert.Equal("guest-registered.v2", stored.EventType);
        Assert.Equal("""{"fullName":"Ada","seats":2}""", Encoding.UTF8.GetString(stored.Data));
        Assert.Equal(new GuestRegistered("Ada", 2), read.Data);
    }

    [Fact]
    public void An_alias_reads_events_stored_under_an_old_name()
    {
        var serializer = new SystemTextJsonEventSerializer(new EventTypeRegistry().Register<GuestRegistered>("guest-registered.v2", "guest-signed-up.v2"));

        var read = serializer.Deserialize("guest-signed-up.v2", """{"fullName":"Ada","seats":2}"""u8);

        Assert.Equal(new GuestRegistered("Ada", 2), read.Data);
        Assert.Equal("guest-signed-up.v2", read.EventType);
    }

    [Fact]
    public void Upcasters_chain_from_an_old_shape_to_the_current_type()
    {
        var registry = new EventTypeRegistry()
            .Register<GuestRegistered>("guest-registered.v3")
            .AddUpcaster("guest-registered.v1", "guest-registered.v2", v1 => new JsonObject { ["fullName"] = $"{v1["first"]} {v1["last"]}" })
            .AddUpcaster("guest-registered.v2", "guest-registered.v3", v2 => { v2["seats"] = 1; return v2; });
        var serializer = new SystemTextJsonEventSerializer(registry);

        var read = serializer.Deserialize("guest-registered.v1", """{"first":"Ada","last":"Lovelace"}"""u8);

        Assert.Equal(new GuestRegistered("Ada Lovelace", 1), read.Data);
        Assert.Equal("guest-registered.v3", read.EventType);
    }

    [Fact]
    public void Unknown_names_and_types_fail_with_errors_that_name_them()
    {
        var serializer = new SystemTextJsonEventSerializer(new EventTypeRegistry().Register<GuestRegistered>("guest-registered.v1"));

        var unknownName = Assert.Throws<UnknownEventTypeException>(() => serializer.Deserialize("guest-vanished.v1", "{}"u8));
        var unknownType = Assert.Throws<UnknownEventTypeException>(() => serializer.Serialize(new Other("x")));

        Assert.Contains("guest-vanished.v1", unknownName.Message, StringComparison.Ordinal);
        Assert.Contains("other.v1", unknownType.Message, StringComparison.Ordinal);
        Assert.Equal(typeof(Other), unknownType.ClrType);

        // The remedies named are ones an application has: the attribute, or AddEvent on the builder.
        Assert.Contains("[EventType(\"other.v1\")]", unknownType.Message, StringComparison.Ordinal);
        Assert.Contains("AddEvent<Other>(\"other.v1\")", unknownType.Message, StringComparison.Ordinal);
        Assert.Contains("[EventType(\"guest-vanished.v1\")]", unknownName.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Register<", unknownType.Message + unknownName.Message, StringComparison.Ordinal);
        Assert.NotNull(typeof(EventSourcing.Hosting.EventSourcingBuilder).GetMethod(nameof(EventSourcing.Hosting.EventSourcingBuilder.AddEvent)));
    }

    [Fact]
    public void Stored_bytes_that_do_not_fit_the_type_fail_naming_the_type()
    {
        var serializer = new SystemTextJsonEventSerializer(new EventTypeRegistry().Register<GuestRegistered>("guest-registered.v1"));

        var error = Assert.Throws<EventDeserializationException>(() => serializer.Deserialize("guest-registered.v1", """{"seats":"many"}"""u8));

        Assert.Equal("guest-registered.v1", error.EventType);
    }

    [Theory]
    [InlineData("GuestRegistered")]
    [InlineData("guest_registered")]
    [InlineData("Reservations.GuestRegistered")]
    [InlineData("guest-registered.V1")]
    [InlineData("-guest")]
    public void Names_that_are_not_kebab_case_are_refused(string name)
    {
        Assert.Throws<ArgumentException>(() => new EventTypeRegistry().Register<GuestRegistered>(name));
    }

    [Fact]
    public void A_name_or_a_type_cannot_be_registered_twice_differently()
    {
        var registry = new EventTypeRegistry().Register<GuestRegistered>("guest-registered.v1");

        Assert.Throws<ArgumentException>(() => registry.Register<Other>("guest-registered.v1"));
        Assert.Throws<ArgumentException>(() => registry.Register<GuestRegistered>("guest-registered.v2"));
        Assert.Throws<ArgumentException>(() => registry.AddUpcaster("guest-registered.v1", "guest-registered.v2", json => json));
        registry.Register<GuestRegistered>("guest-registered.v1");
    }

    [Fact]
    public void Event_ids_from_a_command_are_stable_and_distinct_per_index()
    {
        var command = Guid.NewGuid();

        Assert.Equal(EventIds.FromCommand(command, 0), EventIds.FromCommand(command, 0));
        Assert.NotEqual(EventIds.FromCommand(command, 0), EventIds.FromCommand(command, 1));
        Assert.NotEqual(EventIds.FromCommand(command, 0), EventIds.FromCommand(Guid.NewGuid(), 0));
        Assert.Equal(8, EventIds.FromCommand(command, 3).Version);
    }
}
