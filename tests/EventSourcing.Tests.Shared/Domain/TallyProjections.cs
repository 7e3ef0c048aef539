using EventSourcing.Events;
using EventSourcing.Projections;

namespace EventSourcing.Tests.Shared.Domain;

/// <summary>One stream, one view: a tally's running state.</summary>
public sealed record TallyView(string Id, int Total, int Additions, bool Closed, DateTimeOffset LastChanged);

public sealed class TallyViewProjection : Projection<TallyView>
{
    public override string Name => "tally-view";

    public override IEnumerable<string> ViewIds(EventEnvelope envelope) => envelope.Data is TallyEvent ? [envelope.StreamId] : [];

    public override TallyView? Evolve(string id, TallyView? view, EventEnvelope envelope) => (view, envelope.Data) switch
    {
        (null, TallyIncreased e) => new TallyView(id, e.Total, 1, false, envelope.Timestamp),
        (not null, TallyIncreased e) => view with { Total = e.Total, Additions = view.Additions + 1, LastChanged = envelope.Timestamp },
        (not null, TallyClosed) => view with { Closed = true, LastChanged = envelope.Timestamp },
        _ => view,
    };
}

/// <summary>Many streams, one view; and one event, several views: sums per bucket (amount modulo 3) and overall.</summary>
public sealed record BucketTotal(string Id, long Sum, int Events, string[] Streams);

public sealed class BucketTotalsProjection : Projection<BucketTotal>
{
    public override string Name => "bucket-totals";

    public override IEnumerable<string> ViewIds(EventEnvelope envelope) =>
        envelope.Data is TallyIncreased e ? [$"bucket-{e.Amount % 3}", "all"] : [];

    public override BucketTotal? Evolve(string id, BucketTotal? view, EventEnvelope envelope)
    {
        var increased = (TallyIncreased)envelope.Data;
        view ??= new BucketTotal(id, 0, 0, []);
        return view with
        {
            Sum = view.Sum + increased.Amount,
            Events = view.Events + 1,
            Streams = view.Streams.Contains(envelope.StreamId) ? view.Streams : [.. view.Streams, envelope.StreamId],
        };
    }
}

/// <summary>Deletion: a view per open tally, deleted when the tally closes.</summary>
public sealed record OpenTally(string Id, int Total);

public sealed class OpenTalliesProjection : Projection<OpenTally>
{
    public override string Name => "open-tallies";

    public override IEnumerable<string> ViewIds(EventEnvelope envelope) => envelope.Data is TallyEvent ? [envelope.StreamId] : [];

    public override OpenTally? Evolve(string id, OpenTally? view, EventEnvelope envelope) => envelope.Data switch
    {
        TallyIncreased e => new OpenTally(id, e.Total),
        TallyClosed => null,
        _ => view,
    };
}
