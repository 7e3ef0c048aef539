using System.Diagnostics;
using EventSourcing.Events;
using EventSourcing.Projections;
using EventSourcing.Testing.Contracts.Domain;

namespace EventSourcing.Testing.Contracts.Projections;

/// <summary>A projection that breaks the rules: it reads the clock, so a rebuild gives other views.</summary>
public sealed record ClockedTally(string Id, int Total, long SeenAt);

/// <summary>Projects <see cref="ClockedTally"/>: not deterministic, so verification must find it differs.</summary>
public sealed class ClockedTallyProjection : Projection<ClockedTally>
{
    /// <inheritdoc />
    public override string Name => "clocked-tally";

    /// <inheritdoc />
    public override IEnumerable<string> ViewIds(EventEnvelope envelope) => envelope.Data is TallyIncreased ? [envelope.StreamId] : [];

    /// <inheritdoc />
    public override ClockedTally? Evolve(string id, ClockedTally? view, EventEnvelope envelope) =>
        new(id, ((TallyIncreased)envelope.Data).Total, Stopwatch.GetTimestamp());
}

/// <summary>A projection that fails on any increase of 13.</summary>
public sealed record FragileTally(string Id, int Total, int Events);

/// <summary>Projects <see cref="FragileTally"/>: throws on an increase of 13, a poison event.</summary>
public sealed class FragileTallyProjection : Projection<FragileTally>
{
    /// <inheritdoc />
    public override string Name => "fragile-tally";

    /// <inheritdoc />
    public override IEnumerable<string> ViewIds(EventEnvelope envelope) => envelope.Data is TallyIncreased ? [envelope.StreamId] : [];

    /// <inheritdoc />
    public override FragileTally? Evolve(string id, FragileTally? view, EventEnvelope envelope)
    {
        var increased = (TallyIncreased)envelope.Data;
        return increased.Amount == 13
            ? throw new InvalidOperationException("Thirteen is not projectable.")
            : new FragileTally(id, increased.Total, (view?.Events ?? 0) + 1);
    }
}
