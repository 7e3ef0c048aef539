using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EventSourcing.Events;
using EventSourcing.Privacy;
using EventSourcing.Storage;
using EventSourcing.Testing.Contracts.Privacy;

namespace EventSourcing.Core.Tests.Privacy;

public sealed class PersonalDataProtectorTests : IDisposable
{
    private readonly InMemoryKeyStore _keys = new(MasterKey.Generate());
    private readonly PersonalDataProtector _protector;

    public PersonalDataProtectorTests() => _protector = new PersonalDataProtector(_keys);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _protector.Dispose();

    [Fact]
    public void Ten_thousand_encryptions_of_one_value_under_one_key_have_distinct_nonces_and_ciphertexts()
    {
        var plaintext = "\"Ada Lovelace\""u8.ToArray();

        var values = Enumerable.Range(0, 10_000).Select(_ => _protector.Protect("guest-1", "Guest.Name", plaintext)).ToArray();
        var nonces = values.Select(v => Convert.FromBase64String(v[(v.LastIndexOf(':') + 1)..])[..12]).Select(Convert.ToHexString);

        Assert.Equal(10_000, values.Distinct().Count());
        Assert.Equal(10_000, nonces.Distinct().Count());
        Assert.Equal(1, _keys.Count);
        Assert.All(values.Take(100), v => Assert.True(_protector.TryUnprotect(v, "Guest.Name", out var back) && back!.SequenceEqual(plaintext)));
    }

    [Fact]
    public async Task Many_threads_protecting_values_of_new_subjects_past_the_key_cache_s_capacity_all_succeed()
    {
        // Trimming the key cache while other threads add keys once failed (a copy sized before the adds).
        using var protector = new PersonalDataProtector(_keys, Microsoft.Extensions.Options.Options.Create(new PersonalDataOptions { KeyCacheSize = 50 }));
        var plaintext = "\"Ada\""u8.ToArray();
        using var start = new Barrier(8);

        var values = await Task.WhenAll(Enumerable.Range(0, 8).Select(thread => Task.Run(() =>
        {
            start.SignalAndWait(Ct);
            return Enumerable.Range(0, 1_000).Select(i => (Subject: $"guest-{thread}-{i}", Value: protector.Protect($"guest-{thread}-{i}", "Guest.Name", plaintext))).ToArray();
        }, Ct)));

        var all = values.SelectMany(v => v).ToArray();
        Assert.Equal(8_000, all.Length);
        Assert.Equal(8_000, _keys.Count);
        Assert.Equal(8_000, all.Select(v => v.Value).Distinct().Count());
        Assert.All(all.Where((_, i) => i % 200 == 0), v => Assert.True(protector.TryUnprotect(v.Value, "Guest.Name", out var back) && back!.SequenceEqual(plaintext)));
    }

    [Fact]
    public void Ciphertext_moved_to_another_subject_or_property_or_altered_fails_as_tampered()
    {
        var value = _protector.Protect("guest-1", "Guest.Name", "\"Ada\""u8);
        _protector.Protect("guest-2", "Guest.Name", "\"Bob\""u8);
        var sealedPart = value[(value.LastIndexOf(':') + 1)..];
        var keyId = value.Split(':')[3];
        var movedToOtherSubject = $"{PersonalDataProtector.Prefix}{Base64Url("guest-2")}:{keyId}:{sealedPart}";
        var bytes = Convert.FromBase64String(sealedPart);
        bytes[^1] ^= 1;
        var altered = $"{PersonalDataProtector.Prefix}{Base64Url("guest-1")}:{keyId}:{Convert.ToBase64String(bytes)}";
        var otherKeyId = $"{PersonalDataProtector.Prefix}{Base64Url("guest-1")}:AAAAAAAAAAA:{sealedPart}";

        Assert.Throws<PersonalDataTamperedException>(() => _protector.TryUnprotect(movedToOtherSubject, "Guest.Name", out _));
        Assert.Throws<PersonalDataTamperedException>(() => _protector.TryUnprotect(value, "Guest.Email", out _));
        Assert.Throws<PersonalDataTamperedException>(() => _protector.TryUnprotect(altered, "Guest.Name", out _));
        Assert.Throws<PersonalDataTamperedException>(() => _protector.TryUnprotect($"{PersonalDataProtector.Prefix}not base64!:@@", "Guest.Name", out _));
        Assert.Throws<PersonalDataTamperedException>(() => _protector.TryUnprotect(otherKeyId, "Guest.Name", out _));
        Assert.True(_protector.TryUnprotect(value, "Guest.Name", out _));
    }

    [Fact]
    public async Task A_forgotten_subjects_values_read_as_erased_never_as_an_error()
    {
        var value = _protector.Protect("guest-9", "Guest.Name", "\"Ada\""u8);

        await _keys.DeleteAsync("guest-9", Ct);
        _protector.Evict("guest-9");

        Assert.False(_protector.TryUnprotect(value, "Guest.Name", out var plaintext));
        Assert.Null(plaintext);
        Assert.Throws<SubjectForgottenException>(() => _protector.Protect("guest-9", "Guest.Name", "\"Ada\""u8));
    }

    [Fact]
    public async Task A_ciphertext_moved_between_events_fails_with_an_error_naming_the_event()
    {
        var json = new EventSourcingJson(new JsonSerializerOptions(JsonSerializerDefaults.Web), () => _protector);
        var serializer = new SystemTextJsonEventSerializer(GuestDecider.Register(new EventTypeRegistry()), json.Options);
        using var store = new InMemoryEventStore(serializer);
        var ada = Guid.NewGuid();
        var bob = Guid.NewGuid();
        var adaJson = JsonNode.Parse(serializer.Serialize(new GuestRegistered(ada, "Ada", "ada@example.com", [], null, 2)).Data)!.AsObject();
        var bobJson = JsonNode.Parse(serializer.Serialize(new GuestRegistered(bob, "Bob", "bob@example.com", [], null, 2)).Data)!.AsObject();
        bobJson["name"] = adaJson["name"]!.GetValue<string>(); // Ada's name, inside Bob's event
        var forged = bobJson.ToJsonString();
        adaJson["name"] = adaJson["email"]!.GetValue<string>(); // Ada's e-mail, in her name's place
        var swapped = adaJson.ToJsonString();
        var forgedAt = await store.AppendSerializedAsync("guest-b", ExpectedVersion.Any, [new SerializedEvent("guest-registered.v1", Encoding.UTF8.GetBytes(forged))], EventMetadata.Empty);
        await store.AppendSerializedAsync("guest-a", ExpectedVersion.Any, [new SerializedEvent("guest-registered.v1", Encoding.UTF8.GetBytes(swapped))], EventMetadata.Empty);

        var moved = await Assert.ThrowsAsync<PersonalDataTamperedException>(() => store.ReadStreamAsync("guest-b", 1, Ct).ToListAsync(Ct).AsTask());
        var crossed = await Assert.ThrowsAsync<PersonalDataTamperedException>(() => store.ReadStreamAsync("guest-a", 1, Ct).ToListAsync(Ct).AsTask());

        Assert.Contains("stream 'guest-b'", moved.Message, StringComparison.Ordinal);
        Assert.Contains($"position {forgedAt.Position}", moved.Message, StringComparison.Ordinal);
        Assert.Contains("GuestRegistered.Name", crossed.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Personal_data_without_a_subject_is_refused_rather_than_stored_in_plaintext()
    {
        var json = new EventSourcingJson(new JsonSerializerOptions(JsonSerializerDefaults.Web), () => _protector);

        var error = Assert.Throws<InvalidOperationException>(() => JsonSerializer.Serialize(new Orphan("secret"), json.Options));

        Assert.Contains("Orphan.Secret", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_write_that_fails_inside_a_subject_leaves_no_subject_behind_for_the_next_write_on_the_thread()
    {
        // A failed write once left its subject on the thread, and a later value without one was sealed under that key.
        var json = new EventSourcingJson(new JsonSerializerOptions(JsonSerializerDefaults.Web), () => _protector);
        var ada = Guid.NewGuid();
        await _keys.DeleteAsync(ada.ToString(), Ct);
        _protector.Evict(ada.ToString());

        Assert.Throws<SubjectForgottenException>(() => JsonSerializer.Serialize(new GuestRegistered(ada, "Ada", "ada@example.com", [], null, 2), json.Options));
        var error = Assert.Throws<InvalidOperationException>(() => JsonSerializer.Serialize(new Orphan("secret"), json.Options));

        Assert.Contains("Orphan.Secret", error.Message, StringComparison.Ordinal);
    }

    private sealed record Orphan([property: PersonalData] string Secret);

    private static string Base64Url(string text) => System.Buffers.Text.Base64Url.EncodeToString(Encoding.UTF8.GetBytes(text));
}
