using EventSourcing.Events;
using EventSourcing.Projections;
using EventSourcing.Testing.Contracts.Domain;

namespace EventSourcing.Docs.Tests.Snippets.Projections;

// docs/projections.md, "Defining one": a view and its projection over the tests' Tally events.
public sealed record TallyView(string Id, int Total, int Additions, bool Closed, DateTimeOffset LastChanged);

public sealed class TallyViewProjection : Projection<TallyView>
{
    public override string Name => "tally-view";

    // Which views an event changes: one stream -> one view here. Many streams -> one view: an id taken from the
    // event (["bucket-3"]). One event -> several views: several ids. No ids: the event is ignored.
    public override IEnumerable<string> ViewIds(EventEnvelope envelope) => envelope.Data is TallyEvent ? [envelope.StreamId] : [];

    // One explicit switch; null deletes the view. No clock, no random, no I/O: time comes from the envelope.
    public override TallyView? Evolve(string id, TallyView? view, EventEnvelope envelope) => (view, envelope.Data) switch
    {
        (null, TallyIncreased i) => new TallyView(id, i.Total, 1, false, envelope.Timestamp),
        (not null, TallyIncreased i) => view with { Total = i.Total, Additions = view.Additions + 1, LastChanged = envelope.Timestamp },
        (not null, TallyClosed) => view with { Closed = true, LastChanged = envelope.Timestamp },
        _ => view,
    };
}
