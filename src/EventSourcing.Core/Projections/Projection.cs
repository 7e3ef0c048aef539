using EventSourcing.Events;

namespace EventSourcing.Projections;

/// <summary>
/// A named, versioned, deterministic function from events to views. Implementations derive from
/// <see cref="Projection{TView}"/>; this interface is what registries, runners and tools see.
/// </summary>
public interface IProjection
{
    /// <summary>The projection's stable name (kebab-case), used for its checkpoint, views and the command-line tool.</summary>
    string Name { get; }

    /// <summary>The projection's version: change it when the evolve logic changes, then rebuild.</summary>
    int Version { get; }

    /// <summary>The type of the views.</summary>
    Type ViewType { get; }

    /// <summary>
    /// Whether <see cref="Evolve"/> reads personal values of events (<c>[PersonalData]</c>). A projection that reads none
    /// says false: its events are then read with their personal values sealed (placeholders), so rebuilding and following
    /// the log decrypt nothing and load no key for it. Its views may hold no personal field (checked at start-up).
    /// </summary>
    bool ReadsPersonalData => true;

    /// <summary>The ids of the views <paramref name="envelope"/> changes: none to ignore it, one, or several.</summary>
    IEnumerable<string> ViewIds(EventEnvelope envelope);

    /// <summary>The view <paramref name="id"/> after <paramref name="envelope"/>: null deletes it.</summary>
    object? Evolve(string id, object? view, EventEnvelope envelope);
}

/// <summary>
/// A projection into views of <typeparamref name="TView"/>: one explicit <see cref="Evolve"/> switch, no reflection
/// conventions. It must be deterministic: no clock, no random, no I/O; time comes from the envelope. Then replaying the
/// log always rebuilds the same views, which <c>verify</c> checks.
/// </summary>
/// <example>
/// <code>
/// public sealed class ReservationDetailsProjection : Projection&lt;ReservationDetails&gt;
/// {
///     public override string Name =&gt; "reservation-details";
///     public override IEnumerable&lt;string&gt; ViewIds(EventEnvelope e) =&gt; e.Data is ReservationEvent ? [e.StreamId] : [];
///     public override ReservationDetails? Evolve(string id, ReservationDetails? view, EventEnvelope e) =&gt; e.Data switch
///     {
///         ReservationPlaced p =&gt; new(id, p.Day, p.PartySize, "tentative"),
///         ReservationConfirmed when view is not null =&gt; view with { Status = "confirmed" },
///         _ =&gt; view,
///     };
/// }
/// </code>
/// </example>
public abstract class Projection<TView> : IProjection
    where TView : class
{
    /// <inheritdoc />
    public abstract string Name { get; }

    /// <inheritdoc />
    public virtual int Version => 1;

    /// <inheritdoc />
    public Type ViewType => typeof(TView);

    /// <inheritdoc />
    public virtual bool ReadsPersonalData => true;

    /// <summary>
    /// The ids of the views the event changes. One stream to one view: <c>[e.StreamId]</c>; many streams to one view:
    /// an id taken from the event (<c>[placed.Day.ToString()]</c>); one event to several views: several ids; none to ignore it.
    /// </summary>
    public abstract IEnumerable<string> ViewIds(EventEnvelope envelope);

    /// <summary>
    /// The view <paramref name="id"/> after <paramref name="envelope"/> (<paramref name="view"/> is null if there was none
    /// yet); return null to delete it. The id tells apart the views one event changes, and names a view being created.
    /// </summary>
    public abstract TView? Evolve(string id, TView? view, EventEnvelope envelope);

    object? IProjection.Evolve(string id, object? view, EventEnvelope envelope) => Evolve(id, (TView?)view, envelope);
}
