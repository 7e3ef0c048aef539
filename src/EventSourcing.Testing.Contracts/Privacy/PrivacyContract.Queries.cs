using EventSourcing.Privacy;

namespace EventSourcing.Testing.Contracts.Privacy;

public abstract partial class PrivacyContract
{
    /// <summary>
    /// A personal field is stored encrypted (a fresh nonce per value), so no store can compare it: in memory the query
    /// would match the decrypted value, on PostgreSQL it would silently match nothing. Every store refuses it alike,
    /// naming the field; queries by fields that are not personal work as before.
    /// </summary>
    /// <summary>Querying views by a personal field is refused alike on every store naming the field.</summary>
    [Fact]
    public async Task Querying_views_by_a_personal_field_is_refused_alike_on_every_store_naming_the_field()
    {
        await using var host = await StartAsync();
        var guest = Guid.NewGuid();
        var marker = $"mk{Guid.NewGuid():N}";
        await RegisterAsync(host, guest, marker);

        var byName = await Assert.ThrowsAsync<PersonalDataQueryException>(() => host.Views.QueryAsync<GuestCard>(c => c.Name == $"Ada {marker}", Ct));
        var byPhone = await Assert.ThrowsAsync<PersonalDataQueryException>(() => host.Views.QueryAsync<GuestCard>(c => c.Visits > 0 && c.Phones.Contains($"+44 {marker}"), Ct));
        var byStoreName = await Assert.ThrowsAsync<PersonalDataQueryException>(() => host.ProjectionStore.QueryAsync<GuestCard>("guest-cards", 1, c => c.Email.StartsWith("ada", StringComparison.Ordinal), Ct));
        var bySubject = await host.Views.QueryAsync<GuestCard>(c => c.GuestId == guest && c.Visits == 2, Ct);

        Assert.Contains("GuestCard.Name", byName.Message, StringComparison.Ordinal);
        Assert.Contains("[PersonalData]", byName.Message, StringComparison.Ordinal);
        Assert.Contains("encrypted", byName.Message, StringComparison.Ordinal);
        Assert.Equal(("GuestCard.Phones", "GuestCard.Email"), (byPhone.Member, byStoreName.Member));
        Assert.DoesNotContain(marker, byName.Message, StringComparison.Ordinal);
        Assert.Equal($"Ada {marker}", Assert.Single(bySubject).Name);
    }
}
