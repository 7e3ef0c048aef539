using EventSourcing.Commands;
using EventSourcing.Deciders;
using EventSourcing.Events;
using EventSourcing.Privacy;
using EventSourcing.Projections;

namespace EventSourcing.Tests.Shared.Privacy;

// A small domain holding personal data: guests with names, e-mails, phones and an address.
public sealed record Address(string Street, string City);

public abstract record GuestEvent;

public sealed record GuestRegistered(
    [property: DataSubject] Guid GuestId,
    [property: PersonalData] string Name,
    [property: PersonalData(Replacement = "(forgotten)")] string Email,
    [property: PersonalData] string[] Phones,
    [property: PersonalData] Address? Address,
    int Seats) : GuestEvent;

/// <summary>Attributes on positional parameters (not properties) work too.</summary>
public sealed record GuestRenamed([DataSubject] Guid GuestId, [PersonalData] string Name) : GuestEvent;

public sealed record GuestVisited(Guid GuestId, DateOnly Day) : GuestEvent;

public abstract record GuestCommand(Guid GuestId) : IIdempotentCommand
{
    public Guid CommandId { get; init; }
}

public sealed record RegisterGuest(Guid GuestId, string Name, string Email, string[] Phones) : GuestCommand(GuestId);

public sealed record VisitGuest(Guid GuestId, DateOnly Day) : GuestCommand(GuestId);

/// <summary>A decider state with personal data: its snapshots must be encrypted too.</summary>
public sealed record GuestState([property: DataSubject] Guid GuestId, [property: PersonalData] string Name, int Visits);

public static class GuestDecider
{
    public static readonly Decider<GuestCommand, GuestEvent, GuestState?> Decider = new(null, Evolve, Decide);

    public static string StreamOf(Guid guestId) => $"guest-{guestId}";

    public static GuestEvent[] Decide(GuestCommand command, GuestState? state) => (command, state) switch
    {
        (RegisterGuest c, null) => [new GuestRegistered(c.GuestId, c.Name, c.Email, c.Phones, null, 2)],
        (VisitGuest c, not null) => [new GuestVisited(c.GuestId, c.Day)],
        _ => throw new DomainException($"Cannot {command.GetType().Name} a guest in state {state?.GetType().Name ?? "none"}."),
    };

    public static GuestState? Evolve(GuestState? state, GuestEvent @event) => (state, @event) switch
    {
        (null, GuestRegistered e) => new GuestState(e.GuestId, e.Name, 0),
        (not null, GuestRenamed e) => state with { Name = e.Name },
        (not null, GuestVisited) => state with { Visits = state.Visits + 1 },
        _ => state,
    };

    public static EventTypeRegistry Register(EventTypeRegistry registry) => registry
        .Register<GuestRegistered>("guest-registered.v1")
        .Register<GuestRenamed>("guest-renamed.v1")
        .Register<GuestVisited>("guest-visited.v1");
}

/// <summary>A view holding personal data, with the flag that says some of it was erased.</summary>
public sealed record GuestCard(
    string Id,
    [property: DataSubject] Guid GuestId,
    [property: PersonalData] string Name,
    [property: PersonalData(Replacement = "(forgotten)")] string Email,
    [property: PersonalData] string[] Phones,
    int Visits)
{
    [PersonalDataErased]
    public bool Erased { get; init; }
}

public sealed class GuestCardProjection : Projection<GuestCard>
{
    public override string Name => "guest-cards";

    public override IEnumerable<string> ViewIds(EventEnvelope envelope) => envelope.Data is GuestEvent ? [envelope.StreamId] : [];

    public override GuestCard? Evolve(string id, GuestCard? view, EventEnvelope envelope) => (view, envelope.Data) switch
    {
        (null, GuestRegistered e) => new GuestCard(id, e.GuestId, e.Name, e.Email, e.Phones, 0),
        (not null, GuestRenamed e) => view with { Name = e.Name },
        (not null, GuestVisited) => view with { Visits = view.Visits + 1 },
        _ => view,
    };
}
