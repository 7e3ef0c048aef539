using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EventSourcing.Events;
using EventSourcing.Privacy;
using EventSourcing.Storage;
using EventSourcing.Testing.Contracts.Privacy;

namespace EventSourcing.Core.Tests.Privacy;

/// <summary>
/// Format version 2: one subject's personal values in one event are sealed together, in one AES-GCM operation, with
/// references in their places; events of format version 1 still read; moving, dropping or forging a group or a reference
/// fails as tampering; a group whose values were all erased may be written again.
/// </summary>
public sealed class SealedGroupsTests : IDisposable
{
    private static readonly string[] PersonalProperties = ["name", "email", "phones", "address"];
    private readonly InMemoryKeyStore _keys = new(MasterKey.Generate());
    private readonly PersonalDataProtector _protector;
    private readonly EventTypeRegistry _registry = GuestDecider.Register(new EventTypeRegistry());

    public SealedGroupsTests() => _protector = new PersonalDataProtector(_keys);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _protector.Dispose();

    [Fact]
    public void An_event_s_values_of_one_subject_are_sealed_in_one_group_first_in_the_json_with_a_reference_at_each_value()
    {
        var guest = Guid.NewGuid();
        var serialized = Serializer(sealsPerEvent: true).Serialize(new GuestRegistered(guest, "Ada", "ada@example.com", ["+44 1"], new Address("1 Lane", "Leeds"), 2));
        var json = JsonNode.Parse(serialized.Data)!.AsObject();

        var token = System.Buffers.Text.Base64Url.EncodeToString(Encoding.UTF8.GetBytes(guest.ToString()));
        Assert.Equal("#", json.First().Key);
        var group = Assert.Single(json["#"]!.AsArray())!.GetValue<string>();
        Assert.StartsWith($"es-pd:v2:{token}:", group, StringComparison.Ordinal);
        Assert.Equal(["es-pd:ref:0:0", "es-pd:ref:0:1", "es-pd:ref:0:2", "es-pd:ref:0:3"], PersonalProperties.Select(p => json[p]!.GetValue<string>()));
        Assert.DoesNotContain("Ada", Encoding.UTF8.GetString(serialized.Data), StringComparison.Ordinal);
        Assert.DoesNotContain("Leeds", Encoding.UTF8.GetString(serialized.Data), StringComparison.Ordinal);
    }

    [Fact]
    public void Values_of_two_subjects_in_one_event_go_in_a_group_each_and_read_back_each_under_its_own_subject()
    {
        var party = new Party(Guid.NewGuid(), [new Member(Guid.NewGuid(), "Ada"), new Member(Guid.NewGuid(), "Bob"), new Member(Guid.NewGuid(), "Cy")]);
        var registry = new EventTypeRegistry().Register<Party>("party.v1");
        var serializer = new SystemTextJsonEventSerializer(registry, new EventSourcingJson(new JsonSerializerOptions(JsonSerializerDefaults.Web), () => _protector, type => registry.TryGetName(type, out _)).Options);

        var stored = serializer.Serialize(party);
        var json = JsonNode.Parse(stored.Data)!.AsObject();
        var read = (Party)serializer.Deserialize("party.v1", stored.Data).Data;

        Assert.Equal(3, json["#"]!.AsArray().Count);
        Assert.Equal(["es-pd:ref:0:0", "es-pd:ref:1:0", "es-pd:ref:2:0"], json["members"]!.AsArray().Select(m => m!["name"]!.GetValue<string>()));
        Assert.Equal(["Ada", "Bob", "Cy"], read.Members.Select(m => m.Name));
    }

    [Fact]
    public void Events_round_trip_in_format_2_and_events_written_in_format_1_still_read()
    {
        var guest = Guid.NewGuid();
        var registered = new GuestRegistered(guest, "Ada", "ada@example.com", ["+44 1", "+44 2"], new Address("1 Lane", "Leeds"), 2);
        var v2 = Serializer(sealsPerEvent: true);
        var v1 = Serializer(sealsPerEvent: false).Serialize(registered);

        var fromV2 = (GuestRegistered)v2.Deserialize("guest-registered.v1", v2.Serialize(registered).Data).Data;
        var fromV1 = (GuestRegistered)v2.Deserialize("guest-registered.v1", v1.Data).Data;

        Assert.Contains(PersonalDataProtector.Prefix, Encoding.UTF8.GetString(v1.Data), StringComparison.Ordinal);
        Assert.DoesNotContain(PersonalDataProtector.GroupPrefix, Encoding.UTF8.GetString(v1.Data), StringComparison.Ordinal);
        foreach (var read in new[] { fromV2, fromV1 })
        {
            Assert.Equal((guest, "Ada", "ada@example.com", new Address("1 Lane", "Leeds"), 2), (read.GuestId, read.Name, read.Email, read.Address, read.Seats));
            Assert.Equal(["+44 1", "+44 2"], read.Phones);
        }
    }

    [Fact]
    public async Task After_a_forget_values_of_both_formats_read_as_placeholders_and_the_event_as_erased()
    {
        var guest = Guid.NewGuid();
        var registered = new GuestRegistered(guest, "Ada", "ada@example.com", ["+44 1"], null, 2);
        var serializer = Serializer(sealsPerEvent: true);
        var v2 = serializer.Serialize(registered);
        var v1 = Serializer(sealsPerEvent: false).Serialize(registered);
        await _keys.DeleteAsync(guest.ToString(), Ct);
        _protector.Evict(guest.ToString());

        foreach (var stored in new[] { v2, v1 })
        {
            var read = serializer.Deserialize("guest-registered.v1", stored.Data);
            var erased = (GuestRegistered)read.Data;
            Assert.True(read.PersonalDataErased);
            Assert.Equal((guest, "[erased]", "(forgotten)", 2), (erased.GuestId, erased.Name, erased.Email, erased.Seats));
            Assert.Null(erased.Phones);
        }
    }

    [Fact]
    public async Task An_erased_event_written_again_after_the_forget_stores_no_group_and_reads_erased_but_a_real_value_is_refused()
    {
        var guest = Guid.NewGuid();
        var serializer = Serializer(sealsPerEvent: true);
        var stored = serializer.Serialize(new GuestRegistered(guest, "Ada", "ada@example.com", ["+44 1"], null, 2));
        await _keys.DeleteAsync(guest.ToString(), Ct);
        _protector.Evict(guest.ToString());
        var erased = (GuestRegistered)serializer.Deserialize("guest-registered.v1", stored.Data).Data;

        var again = serializer.Serialize(erased);
        var readAgain = serializer.Deserialize("guest-registered.v1", again.Data);
        var refused = Assert.Throws<SubjectForgottenException>(() => serializer.Serialize(erased with { Name = "Ada" }));
        var next = Assert.Throws<InvalidOperationException>(() => JsonSerializer.Serialize(new Unnamed("secret"), Json(sealsPerEvent: true).Options));

        var token = System.Buffers.Text.Base64Url.EncodeToString(Encoding.UTF8.GetBytes(guest.ToString()));
        Assert.Equal($"es-pd:v2:{token}:-", JsonNode.Parse(again.Data)!["#"]![0]!.GetValue<string>());
        Assert.True(readAgain.PersonalDataErased);
        Assert.Equal(("[erased]", "(forgotten)"), (((GuestRegistered)readAgain.Data).Name, ((GuestRegistered)readAgain.Data).Email));
        Assert.Equal(guest.ToString(), refused.SubjectId);
        Assert.Contains("Unnamed.Secret", next.Message, StringComparison.Ordinal); // the failed write left no group or subject behind
    }

    [Fact]
    public async Task A_reference_moved_to_another_property_a_dropped_group_or_another_subject_s_group_fails_as_tampered_naming_the_event()
    {
        var serializer = Serializer(sealsPerEvent: true);
        using var store = new InMemoryEventStore(serializer);
        var ada = Guid.NewGuid();
        var bob = Guid.NewGuid();
        var adaJson = JsonNode.Parse(serializer.Serialize(new GuestRegistered(ada, "Ada", "ada@example.com", [], null, 2)).Data)!.AsObject();
        var bobJson = JsonNode.Parse(serializer.Serialize(new GuestRegistered(bob, "Bob", "bob@example.com", [], null, 2)).Data)!.AsObject();

        var swapped = adaJson.DeepClone().AsObject();
        (swapped["name"], swapped["email"]) = (adaJson["email"]!.DeepClone(), adaJson["name"]!.DeepClone());
        var dropped = adaJson.DeepClone().AsObject();
        dropped.Remove("#");
        var forged = bobJson.DeepClone().AsObject(); // Ada's group, relabelled as Bob's
        var bobToken = System.Buffers.Text.Base64Url.EncodeToString(Encoding.UTF8.GetBytes(bob.ToString()));
        var adaToken = System.Buffers.Text.Base64Url.EncodeToString(Encoding.UTF8.GetBytes(ada.ToString()));
        forged["#"] = new JsonArray(adaJson["#"]![0]!.GetValue<string>().Replace(adaToken, bobToken, StringComparison.Ordinal));

        foreach (var (name, json) in new[] { ("swapped", swapped), ("dropped", dropped), ("forged", forged) })
        {
            var at = await store.AppendSerializedAsync($"guest-{name}", ExpectedVersion.Any, [new SerializedEvent("guest-registered.v1", Encoding.UTF8.GetBytes(json.ToJsonString()))], EventMetadata.Empty);
            var error = await Assert.ThrowsAsync<PersonalDataTamperedException>(() => store.ReadStreamAsync($"guest-{name}", 1, Ct).ToListAsync(Ct).AsTask());
            Assert.Contains($"stream 'guest-{name}'", error.Message, StringComparison.Ordinal);
            Assert.Contains($"position {at.Position}", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Values_outside_an_event_write_and_events_serialized_directly_keep_format_1()
    {
        var json = Json(sealsPerEvent: true);
        var guest = Guid.NewGuid();

        var direct = JsonSerializer.Serialize(new GuestRegistered(guest, "Ada", "ada@example.com", [], null, 2), json.Options);
        var card = JsonSerializer.Serialize(new GuestCard($"guest-{guest}", guest, "Ada", "ada@example.com", [], 0), json.Options);

        Assert.DoesNotContain(PersonalDataProtector.GroupPrefix, direct, StringComparison.Ordinal);
        Assert.DoesNotContain("\"#\"", direct, StringComparison.Ordinal);
        Assert.Contains(PersonalDataProtector.Prefix, direct, StringComparison.Ordinal);
        Assert.Contains(PersonalDataProtector.Prefix, card, StringComparison.Ordinal);
        Assert.Equal("Ada", JsonSerializer.Deserialize<GuestRegistered>(direct, json.Options)!.Name);
    }

    private EventSourcingJson Json(bool sealsPerEvent) =>
        new(new JsonSerializerOptions(JsonSerializerDefaults.Web), () => _protector, sealsPerEvent ? type => _registry.TryGetName(type, out _) : null);

    private SystemTextJsonEventSerializer Serializer(bool sealsPerEvent) => new(_registry, Json(sealsPerEvent).Options);

    private sealed record Unnamed([property: PersonalData] string Secret);

    private sealed record Party(Guid PartyId, Member[] Members);

    private sealed record Member([property: DataSubject] Guid MemberId, [property: PersonalData] string Name);
}
