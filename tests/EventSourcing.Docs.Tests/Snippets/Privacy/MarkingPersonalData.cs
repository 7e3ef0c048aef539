using EventSourcing.Privacy;
using EventSourcing.Testing.Contracts.Privacy;

namespace EventSourcing.Docs.Tests.Snippets.Privacy;

// docs/privacy.md, "Marking personal data" (Address is the tests' own, from EventSourcing.Testing.Contracts.Privacy).
public sealed record GuestRegistered(
    [property: DataSubject] Guid GuestId,                                  // whose data this is
    [property: PersonalData] string Name,                                  // reads "[erased]" once forgotten
    [property: PersonalData(Replacement = "(forgotten)")] string Email,    // or what the attribute says
    [property: PersonalData] string[] Phones,                              // any type: its JSON is encrypted
    [property: PersonalData] Address? Address,                             // nested objects too
    int Seats);                                                            // not personal: stays plain

public sealed record GuestCard(string Id, [property: DataSubject] Guid GuestId, [property: PersonalData] string Name)
{
    [PersonalDataErased] public bool Erased { get; init; }                 // set when read with erased values
}
