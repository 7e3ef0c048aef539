using System.Linq.Expressions;
using EventSourcing.Privacy;
using EventSourcing.Testing.Contracts.Privacy;

namespace EventSourcing.Core.Tests.Privacy;

/// <summary>Which view predicates read a personal field (refused by every store), and which do not.</summary>
public sealed class PersonalDataQueriesTests
{
    private sealed record Contact([property: PersonalData] string Phone, string Kind);

    private sealed record Booking([property: DataSubject] string GuestId, Contact Contact, [property: PersonalData] Address Address, List<Contact> Others);

    [Fact]
    public void A_personal_field_read_from_the_view_anywhere_in_it_is_refused_by_name()
    {
        Assert.Equal("Contact.Phone", Refused<Booking>(b => b.Contact.Phone == "+44"));
        Assert.Equal("Contact.Phone", Refused<Booking>(b => b.GuestId == "g" || b.Others.Any(o => o.Phone.StartsWith("+44", StringComparison.Ordinal))));
        Assert.Equal("Booking.Address", Refused<Booking>(b => b.Address.City == "Leeds"));
        Assert.Equal("Booking.Address", Refused<Booking>(b => b.Address == null));
        Assert.Equal("GuestRenamed.Name", Refused<GuestRenamed>(r => r.Name.Length > 3)); // the attribute on a record parameter
    }

    [Fact]
    public void Fields_that_are_not_personal_and_values_captured_from_outside_the_view_are_allowed()
    {
        var probe = new Contact("+44 1", "mobile");

        PersonalDataQueries.EnsureNoPersonalFields((Expression<Func<Booking, bool>>)(b => b.GuestId == "g" && b.Contact.Kind == probe.Kind && probe.Phone != null));
        PersonalDataQueries.EnsureNoPersonalFields((Expression<Func<Booking, bool>>)(b => b.Others.Count > 1 && b.Others.Any(o => o.Kind == "mobile")));
        PersonalDataQueries.EnsureNoPersonalFields((Expression<Func<GuestCard, bool>>)(c => c.GuestId != Guid.Empty && c.Visits == 2 && c.Id.StartsWith("guest-", StringComparison.Ordinal)));
    }

    private static string Refused<T>(Expression<Func<T, bool>> predicate) =>
        Assert.Throws<PersonalDataQueryException>(() => PersonalDataQueries.EnsureNoPersonalFields(predicate)).Member;
}
