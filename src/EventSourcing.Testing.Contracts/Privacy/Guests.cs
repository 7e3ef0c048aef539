using EventSourcing.Commands;
using EventSourcing.Deciders;
using EventSourcing.Events;
using EventSourcing.Privacy;
using EventSourcing.Projections;

namespace EventSourcing.Testing.Contracts.Privacy;

/// <summary>A guest's address: personal data as a nested object.</summary>
public sealed record Address(string Street, string City);

/// <summary>The events of the guest domain of <see cref="PrivacyContract"/>, which holds personal data.</summary>
public abstract record GuestEvent;

/// <summary>A guest registered: a name, an e-mail (with a replacement when erased), phones and an address are personal.</summary>
public sealed record GuestRegistered(
    [property: DataSubject] Guid GuestId,
    [property: PersonalData] string Name,
    [property: PersonalData(Replacement = "(forgotten)")] string Email,
    [property: PersonalData] string[] Phones,
    [property: PersonalData] Address? Address,
    int Seats) : GuestEvent;

/// <summary>Attributes on positional parameters (not properties) work too.</summary>
public sealed record GuestRenamed([DataSubject] Guid GuestId, [PersonalData] string Name) : GuestEvent;

/// <summary>A guest visited on a day: nothing personal.</summary>
public sealed record GuestVisited(Guid GuestId, DateOnly Day) : GuestEvent;

/// <summary>A command to the guest decider.</summary>
public abstract record GuestCommand(Guid GuestId) : IIdempotentCommand
{
    /// <inheritdoc />
    public Guid CommandId { get; init; }
}

/// <summary>Registers a new guest.</summary>
public sealed record RegisterGuest(Guid GuestId, string Name, string Email, string[] Phones) : GuestCommand(GuestId);

/// <summary>Records a registered guest's visit.</summary>
public sealed record VisitGuest(Guid GuestId, DateOnly Day) : GuestCommand(GuestId);

/// <summary>A decider state with personal data: its snapshots must be encrypted too.</summary>
public sealed record GuestState([property: DataSubject] Guid GuestId, [property: PersonalData] string Name, int Visits);

/// <summary>The guest decider: one stream per guest.</summary>
public static class GuestDecider
{
    /// <summary>The decider, from no state.</summary>
    public static readonly Decider<GuestCommand, GuestEvent, GuestState?> Decider = new(null, Evolve, Decide);

    /// <summary>The stream of the guest <paramref name="guestId"/>.</summary>
    public static string StreamOf(Guid guestId) => $"guest-{guestId}";

    /// <summary>Registers a guest once, and records visits of a registered guest; refuses anything else.</summary>
    public static GuestEvent[] Decide(GuestCommand command, GuestState? state) => (command, state) switch
    {
        (RegisterGuest c, null) => [new GuestRegistered(c.GuestId, c.Name, c.Email, c.Phones, null, 2)],
        (VisitGuest c, not null) => [new GuestVisited(c.GuestId, c.Day)],
        _ => throw new DomainException($"Cannot {command.GetType().Name} a guest in state {state?.GetType().Name ?? "none"}."),
    };

    /// <summary>Folds an event into the state.</summary>
    public static GuestState? Evolve(GuestState? state, GuestEvent @event) => (state, @event) switch
    {
        (null, GuestRegistered e) => new GuestState(e.GuestId, e.Name, 0),
        (not null, GuestRenamed e) => state with { Name = e.Name },
        (not null, GuestVisited) => state with { Visits = state.Visits + 1 },
        _ => state,
    };

    /// <summary>Names the guest events in <paramref name="registry"/>, and returns it.</summary>
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
    /// <summary>True when some of the card's personal values were erased.</summary>
    [PersonalDataErased]
    public bool Erased { get; init; }
}

/// <summary>Projects <see cref="GuestCard"/>, one per guest.</summary>
public sealed class GuestCardProjection : Projection<GuestCard>
{
    /// <inheritdoc />
    public override string Name => "guest-cards";

    /// <inheritdoc />
    public override IEnumerable<string> ViewIds(EventEnvelope envelope) => envelope.Data is GuestEvent ? [envelope.StreamId] : [];

    /// <inheritdoc />
    public override GuestCard? Evolve(string id, GuestCard? view, EventEnvelope envelope) => (view, envelope.Data) switch
    {
        (null, GuestRegistered e) => new GuestCard(id, e.GuestId, e.Name, e.Email, e.Phones, 0),
        (not null, GuestRenamed e) => view with { Name = e.Name },
        (not null, GuestVisited) => view with { Visits = view.Visits + 1 },
        _ => view,
    };
}
