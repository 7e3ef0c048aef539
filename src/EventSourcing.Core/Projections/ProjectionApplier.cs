using EventSourcing.Diagnostics;
using EventSourcing.Events;
using EventSourcing.Privacy;
using EventSourcing.Storage;

namespace EventSourcing.Projections;

/// <summary>
/// The one way events are applied to stored views, whoever runs the projection (inline, the async runner, Marten's
/// daemon, a rebuild, a verification): load every view the events touch, evolve in position order skipping events a
/// view already holds, and put the changed records and the checkpoint in the same batch. An event is applied to all of
/// its views or to none: if the projection throws, or the event cannot be read (<see cref="UnreadableEvent"/>), the
/// event is dead-lettered (or the run stops) as a whole. Views holding personal data of a subject forgotten since their
/// events were read are written as a read after the forget shows them (placeholders), never refused. For authors of
/// stores whose own machinery runs projections (as Marten's daemon does): apply through it, so every store agrees.
/// </summary>
public static class ProjectionApplier
{
    /// <summary>
    /// Begins reading events for <paramref name="projection"/>: when it reads no personal data
    /// (<see cref="IProjection.ReadsPersonalData"/>), the events read in this asynchronous flow until the scope is disposed
    /// keep their personal values sealed (placeholders, no decryption, no key loaded). Read a projection's events inside it.
    /// </summary>
    public static IDisposable BeginEventRead(IProjection projection)
    {
        ArgumentNullException.ThrowIfNull(projection);
        return projection.ReadsPersonalData ? NoScope.Instance : SealedReads.Begin();
    }

    /// <summary>
    /// Applies <paramref name="events"/> (in position order) to <paramref name="batch"/>; returns how many were dead-lettered.
    /// With <paramref name="personalData"/>, the changed views are checked against forgets that happened after their events
    /// were read (<see cref="EventSourcingJson.EraseForgottenAsync"/>) before they are put.
    /// </summary>
    public static async Task<int> ApplyAsync(
        IProjection projection,
        IReadOnlyList<EventEnvelope> events,
        IProjectionBatch batch,
        PoisonEventPolicy policy,
        TimeProvider timeProvider,
        EventSourcingJson? personalData,
        CancellationToken cancellationToken)
    {
        if (events.Count == 0)
        {
            return 0;
        }

        using var activity = FollowerTelemetry.StartPage("project", Telemetry.Projection, projection.Name, events);
        try
        {
            var deadLettered = await ApplyPageAsync(projection, events, batch, policy, timeProvider, personalData, cancellationToken).ConfigureAwait(false);
            activity?.SetTag("eventsourcing.dead_letters", deadLettered);
            return deadLettered;
        }
        catch (Exception exception) when (activity is not null)
        {
            Telemetry.Fail(activity, exception);
            throw;
        }
    }

    private static async Task<int> ApplyPageAsync(
        IProjection projection,
        IReadOnlyList<EventEnvelope> events,
        IProjectionBatch batch,
        PoisonEventPolicy policy,
        TimeProvider timeProvider,
        EventSourcingJson? personalData,
        CancellationToken cancellationToken)
    {
        var targets = new (EventEnvelope Event, string[]? Ids, Exception? Error)[events.Count];
        var allIds = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < events.Count; i++)
        {
            if (events[i].Data is UnreadableEvent unreadable)
            {
                targets[i] = (events[i], null, unreadable.Error); // whether the projection needed it, nobody can tell
                continue;
            }

            try
            {
                var ids = projection.ViewIds(events[i]).Distinct(StringComparer.Ordinal).ToArray();
                targets[i] = (events[i], ids, null);
                allIds.UnionWith(ids);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                targets[i] = (events[i], null, exception);
            }
        }

        var records = allIds.Count == 0
            ? new Dictionary<string, ViewRecord>(StringComparer.Ordinal)
            : new Dictionary<string, ViewRecord>(await batch.LoadAsync(allIds, cancellationToken).ConfigureAwait(false), StringComparer.Ordinal);
        var changed = new HashSet<string>(StringComparer.Ordinal);
        var deadLettered = 0;
        var pending = new List<ViewRecord>();
        foreach (var (@event, ids, idError) in targets)
        {
            var error = idError ?? Evolve(projection, @event, ids!, records, pending);
            if (error is not null)
            {
                var letter = DeadLetter.For(projection.Name, @event, error, timeProvider.GetUtcNow());
                if (policy == PoisonEventPolicy.Stop)
                {
                    throw new ProjectionFailedException(letter, error);
                }

                batch.DeadLetter(letter);
                FollowerTelemetry.DeadLettered(Telemetry.Projection, projection.Name);
                deadLettered++;
                continue;
            }

            foreach (var record in pending)
            {
                records[record.Id] = record;
                changed.Add(record.Id);
            }
        }

        var puts = changed.Select(id => records[id]).ToArray();
        if (personalData is not null && puts.Length > 0)
        {
            // A subject forgotten after these events were read: their values were read in plaintext, and the key to
            // write them with is gone. Write what a read after the forget shows instead.
            var views = await personalData.EraseForgottenAsync([.. puts.Select(r => r.View)], cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < puts.Length; i++)
            {
                puts[i] = ReferenceEquals(views[i], puts[i].View) ? puts[i] : puts[i] with { View = views[i] };
            }
        }

        foreach (var record in puts)
        {
            batch.Put(record);
        }

        batch.Checkpoint(events[^1].Position);
        return deadLettered;
    }

    /// <summary>Evolves every view of one event into <paramref name="pending"/>; the error if the projection threw.</summary>
    private static Exception? Evolve(IProjection projection, EventEnvelope @event, string[] ids, Dictionary<string, ViewRecord> records, List<ViewRecord> pending)
    {
        pending.Clear();
        foreach (var id in ids)
        {
            records.TryGetValue(id, out var current);
            if (current is not null && current.Position >= @event.Position)
            {
                continue; // already in this view
            }

            try
            {
                pending.Add(new ViewRecord(id, @event.Position, projection.Evolve(id, current?.View, @event)));
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                pending.Clear();
                return exception;
            }
        }

        return null;
    }

    private sealed class NoScope : IDisposable
    {
        public static readonly NoScope Instance = new();

        public void Dispose()
        {
        }
    }
}
