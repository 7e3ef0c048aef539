using System.Text.Json;
using System.Text.Json.Nodes;
using EventSourcing.Privacy;
using EventSourcing.Testing.Contracts.Privacy;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace EventSourcing.Core.Tests.Privacy;

public sealed class PersonalDataJsonTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private sealed record Contact([property: PersonalData] string Phone, string Kind);

    private sealed record Booking([property: DataSubject] string GuestId, Contact Contact, [property: PersonalData] Address Address, List<Contact> Others);

    private sealed record GuestSnapshot([property: DataSubject] string GuestId, [property: PersonalData] string Name);

    private sealed record Member([property: DataSubject] string MemberId, [property: PersonalData] string Name)
    {
        [PersonalDataErased]
        public bool Erased { get; init; }
    }

    private sealed record Phone([property: PersonalData] string Number)
    {
        [PersonalDataErased]
        public bool Erased { get; init; }
    }

    private sealed record Caller([property: DataSubject] string CallerId, List<Phone> Phones);

    private sealed record Party([property: DataSubject] string HostId, [property: PersonalData] string HostName, Member Guest, List<Member> Members)
    {
        [PersonalDataErased]
        public bool Erased { get; init; }
    }

    [Fact]
    public void Nested_objects_and_collections_belong_to_the_subject_around_them_and_round_trip()
    {
        using var protector = new PersonalDataProtector(new InMemoryKeyStore(MasterKey.Generate()));
        var json = new EventSourcingJson(new JsonSerializerOptions(JsonSerializerDefaults.Web), () => protector).Options;
        var booking = new Booking("guest-7", new Contact("+44 1", "mobile"), new Address("1 Main St", "Leeds"), [new Contact("+44 2", "work")]);

        var text = JsonSerializer.Serialize(booking, json);
        var back = JsonSerializer.Deserialize<Booking>(text, json)!;

        Assert.DoesNotContain("+44", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Leeds", text, StringComparison.Ordinal);
        Assert.Contains("mobile", text, StringComparison.Ordinal);
        Assert.Equal((booking.Contact, booking.Address), (back.Contact, back.Address));
        Assert.Equal(booking.Others, back.Others);
        Assert.Equal(["guest-7"], PersonalDataJson.SubjectsOf(booking));
    }

    [Fact]
    public async Task With_new_keys_allowed_a_forgotten_subject_gets_a_fresh_key_and_old_data_stays_erased()
    {
        var keys = new InMemoryKeyStore(MasterKey.Generate(), allowNewKeyAfterForget: true);
        using var protector = new PersonalDataProtector(keys, Options.Create(new PersonalDataOptions { AllowNewKeyAfterForget = true }));
        var old = protector.Protect("guest-1", "Guest.Name", "\"Ada\""u8);
        await keys.DeleteAsync("guest-1", Ct);
        protector.Evict("guest-1");

        var fresh = protector.Protect("guest-1", "Guest.Name", "\"Ada again\""u8);

        Assert.False(protector.TryUnprotect(old, "Guest.Name", out _));
        Assert.True(protector.TryUnprotect(fresh, "Guest.Name", out var plaintext));
        Assert.Equal("\"Ada again\""u8.ToArray(), plaintext);
    }

    [Fact]
    public async Task The_key_cache_is_bounded_and_a_cached_key_is_asked_for_again_after_its_duration()
    {
        var clock = new FakeTimeProvider();
        var keys = new CountingKeyStore();
        var options = Options.Create(new PersonalDataOptions { KeyCacheSize = 10, KeyCacheDuration = TimeSpan.FromMinutes(1) });
        using var protector = new PersonalDataProtector(keys, options, clock);

        foreach (var subject in Enumerable.Range(0, 50).Select(i => $"guest-{i}"))
        {
            protector.Protect(subject, "Guest.Name", "1"u8);
        }

        var afterFill = keys.Lookups;
        protector.Protect("guest-49", "Guest.Name", "1"u8); // still cached
        var cachedHit = keys.Lookups;
        protector.Protect("guest-0", "Guest.Name", "1"u8);  // trimmed long ago
        var trimmedMiss = keys.Lookups;
        clock.Advance(TimeSpan.FromMinutes(2));
        protector.Protect("guest-49", "Guest.Name", "1"u8); // expired
        await Task.CompletedTask;

        Assert.Equal(50, afterFill);
        Assert.Equal(afterFill, cachedHit);
        Assert.Equal(cachedHit + 1, trimmedMiss);
        Assert.Equal(trimmedMiss + 1, keys.Lookups);
    }

    [Fact]
    public async Task An_erased_value_read_earlier_on_the_thread_does_not_flag_a_later_object_of_a_kept_subject()
    {
        var keys = new InMemoryKeyStore(MasterKey.Generate());
        using var protector = new PersonalDataProtector(keys);
        var json = new EventSourcingJson(new JsonSerializerOptions(JsonSerializerDefaults.Web), () => protector).Options;
        var forgottenSnapshot = JsonSerializer.Serialize(new GuestSnapshot("gone", "Ada"), json);
        var forgottenInParty = JsonSerializer.Serialize(new Party("host", "Hal", new Member("gone", "Ada"), []), json);
        var kept = JsonSerializer.Serialize(new Member("kept", "Bob"), json);
        await keys.DeleteAsync("gone", Ct);
        protector.Evict("gone");

        var snapshot = JsonSerializer.Deserialize<GuestSnapshot>(forgottenSnapshot, json)!; // no flag of its own to take the erasure
        var afterSnapshot = JsonSerializer.Deserialize<Member>(kept, json)!;
        var party = JsonSerializer.Deserialize<Party>(forgottenInParty, json)!;
        var afterParty = JsonSerializer.Deserialize<Member>(kept, json)!;

        Assert.Equal("[erased]", snapshot.Name);
        Assert.Equal(("Bob", false), (afterSnapshot.Name, afterSnapshot.Erased));
        Assert.Equal(("Hal", true, true), (party.HostName, party.Guest.Erased, party.Erased));
        Assert.Equal(("Bob", false), (afterParty.Name, afterParty.Erased));
    }

    [Fact]
    public async Task Objects_of_other_subjects_nest_and_each_is_flagged_by_its_own_erasure_alone()
    {
        var keys = new InMemoryKeyStore(MasterKey.Generate());
        using var protector = new PersonalDataProtector(keys);
        var json = new EventSourcingJson(new JsonSerializerOptions(JsonSerializerDefaults.Web), () => protector).Options;
        var party = new Party("host", "Hal", new Member("guest", "Gus"), [new Member("m1", "Ann"), new Member("gone", "Ada"), new Member("m3", "Cy")]);
        var text = JsonSerializer.Serialize(party, json);

        var before = JsonSerializer.Deserialize<Party>(text, json)!;
        await keys.DeleteAsync("gone", Ct);
        protector.Evict("gone");
        var after = JsonSerializer.Deserialize<Party>(text, json)!;

        Assert.DoesNotContain("Gus", text, StringComparison.Ordinal);
        Assert.Equal((party.HostName, party.Guest), (before.HostName, before.Guest));
        Assert.Equal(party.Members, before.Members);
        Assert.Equal(("Hal", "Gus", false), (after.HostName, after.Guest.Name, after.Guest.Erased));
        Assert.Equal(
            [("Ann", false), ("[erased]", true), ("Cy", false)],
            after.Members.Select(m => (m.Name, m.Erased)));
        Assert.True(after.Erased);
    }

    [Fact]
    public void Objects_with_only_an_erased_flag_are_flagged_by_their_own_values_not_by_those_beside_them()
    {
        using var protector = new PersonalDataProtector(new InMemoryKeyStore(MasterKey.Generate()));
        var json = new EventSourcingJson(new JsonSerializerOptions(JsonSerializerDefaults.Web), () => protector).Options;
        var node = JsonNode.Parse(JsonSerializer.Serialize(new Caller("caller", [new Phone("+44 1"), new Phone("+44 2"), new Phone("+44 3")]), json))!;
        node["phones"]![1]!["number"] = PersonalDataProtector.ErasedMarker; // written again after an erasure

        var caller = JsonSerializer.Deserialize<Caller>(node.ToJsonString(), json)!;

        Assert.Equal([("+44 1", false), ("[erased]", true), ("+44 3", false)], caller.Phones.Select(p => (p.Number, p.Erased)));
    }

    [Fact]
    public void A_value_moved_into_an_object_of_another_subject_is_refused_also_when_nested()
    {
        using var protector = new PersonalDataProtector(new InMemoryKeyStore(MasterKey.Generate()));
        var json = new EventSourcingJson(new JsonSerializerOptions(JsonSerializerDefaults.Web), () => protector).Options;
        var text = JsonSerializer.Serialize(new Party("host", "Hal", new Member("guest", "Gus"), [new Member("m1", "Ann"), new Member("m2", "Bo")]), json);
        string Moved(Func<JsonNode, JsonNode> from, Func<JsonNode, JsonObject> into, string property)
        {
            var node = JsonNode.Parse(text)!;
            into(node)[property] = from(node).GetValue<string>();
            return node.ToJsonString();
        }

        var memberIntoMember = Moved(n => n["members"]![0]!["name"]!, n => n["members"]![1]!.AsObject(), "name");
        var hostIntoGuest = Moved(n => n["hostName"]!, n => n["guest"]!.AsObject(), "name");
        var guestIntoHost = Moved(n => n["guest"]!["name"]!, n => n.AsObject(), "hostName");

        Assert.Throws<PersonalDataTamperedException>(() => JsonSerializer.Deserialize<Party>(memberIntoMember, json));
        Assert.Throws<PersonalDataTamperedException>(() => JsonSerializer.Deserialize<Party>(hostIntoGuest, json));
        Assert.Throws<PersonalDataTamperedException>(() => JsonSerializer.Deserialize<Party>(guestIntoHost, json));
        Assert.Equal("Gus", JsonSerializer.Deserialize<Party>(text, json)!.Guest.Name); // and a failed read leaves nothing behind
    }

    private sealed class CountingKeyStore : IKeyStore
    {
        private readonly InMemoryKeyStore _inner = new(MasterKey.Generate());
        private int _lookups;

        public int Lookups => _lookups;

        public Task<byte[]?> FindAsync(string subjectId, CancellationToken cancellationToken) => _inner.FindAsync(subjectId, cancellationToken);

        public byte[]? Find(string subjectId) => _inner.Find(subjectId);

        public Task<byte[]> GetOrCreateAsync(string subjectId, CancellationToken cancellationToken) => _inner.GetOrCreateAsync(subjectId, cancellationToken);

        public byte[] GetOrCreate(string subjectId)
        {
            Interlocked.Increment(ref _lookups);
            return _inner.GetOrCreate(subjectId);
        }

        public Task<bool> DeleteAsync(string subjectId, CancellationToken cancellationToken) => _inner.DeleteAsync(subjectId, cancellationToken);

        public Task<int> RewrapAsync(MasterKey newMasterKey, CancellationToken cancellationToken) => _inner.RewrapAsync(newMasterKey, cancellationToken);
    }
}
