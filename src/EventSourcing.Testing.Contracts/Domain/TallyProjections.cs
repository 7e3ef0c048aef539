using EventSourcing.Events;
using EventSourcing.Projections;

namespace EventSourcing.Testing.Contracts.Domain;

/// <summary>One stream, one view: a tally's running state.</summary>
public sealed record TallyView(string Id, int Total, int Additions, bool Closed, DateTimeOffset LastChanged);

/// <summary>Projects <see cref="TallyView"/>: the view id is the stream id.</summary>
public sealed class TallyViewProjection : Projection<TallyView>
{
    /// <inheritdoc />
    public override string Name => "tally-view";

    /// <inheritdoc />
    public override IEnumerable<string> ViewIds(EventEnvelope envelope) => envelope.Data is TallyEvent ? [envelope.StreamId] : [];

    /// <inheritdoc />
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

/// <summary>Projects <see cref="BucketTotal"/>: one event updates two views.</summary>
public sealed class BucketTotalsProjection : Projection<BucketTotal>
{
    /// <inheritdoc />
    public override string Name => "bucket-totals";

    /// <inheritdoc />
    public override IEnumerable<string> ViewIds(EventEnvelope envelope) =>
        envelope.Data is TallyIncreased e ? [$"bucket-{e.Amount % 3}", "all"] : [];

    /// <inheritdoc />
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

/// <summary>Projects <see cref="OpenTally"/>: a closed tally's view is deleted.</summary>
public sealed class OpenTalliesProjection : Projection<OpenTally>
{
    /// <inheritdoc />
    public override string Name => "open-tallies";

    /// <inheritdoc />
    public override IEnumerable<string> ViewIds(EventEnvelope envelope) => envelope.Data is TallyEvent ? [envelope.StreamId] : [];

    /// <inheritdoc />
    public override OpenTally? Evolve(string id, OpenTally? view, EventEnvelope envelope) => envelope.Data switch
    {
        TallyIncreased e => new OpenTally(id, e.Total),
        TallyClosed => null,
        _ => view,
    };
}
