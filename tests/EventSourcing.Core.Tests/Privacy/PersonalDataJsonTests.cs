using System.Text.Json;
using EventSourcing.Privacy;
using EventSourcing.Tests.Shared.Privacy;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace EventSourcing.Core.Tests.Privacy;

public sealed class PersonalDataJsonTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private sealed record Contact([property: PersonalData] string Phone, string Kind);

    private sealed record Booking([property: DataSubject] string GuestId, Contact Contact, [property: PersonalData] Address Address, List<Contact> Others);

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
