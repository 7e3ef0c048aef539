using EventSourcing.Events;
using EventSourcing.Marten.Storage;
using EventSourcing.Privacy;
using EventSourcing.Projections;
using JasperFx.Events;
using Marten;

namespace EventSourcing.Marten.Projections;

/// <summary>
/// Runs one of the application's projections inside Marten: on the async daemon (which owns the shard on one node,
/// HotCold, and commits our views and checkpoint with its progression) or inline in the append's transaction. Events
/// are re-read through the <see cref="MartenEventStore"/> so that they are deserialized exactly as every other reader
/// sees them; the daemon's batch only says which positions to project. An async projection that stops at an event
/// (<see cref="PoisonEventPolicy.Stop"/>) keeps it as a dead letter, committed on its own since the daemon's transaction
/// is rolled back: past the checkpoint, it is what status reads as stopped there, from any process. The daemon tries
/// the page again later and stops at the same event until the projection is fixed.
/// </summary>
internal sealed class MartenProjectionAdapter(
    ProjectionRegistration registration,
    Func<MartenProjectionStore> views,
    Func<MartenEventStore> events,
    EventTypeRegistry registry,
    TimeProvider timeProvider,
    EventSourcingJson personalData) : global::Marten.Events.Projections.IProjection
{
    public async Task ApplyAsync(IDocumentOperations operations, IReadOnlyList<IEvent> batchEvents, CancellationToken cancellation)
    {
        if (batchEvents.Count == 0)
        {
            return;
        }

        if (registration.Lifecycle == ProjectionLifecycle.Inline)
        {
            await ApplyInlineAsync(operations, batchEvents, cancellation).ConfigureAwait(false);
            return;
        }

        var (generations, position) = await MartenProjectionStore.ServingAsync(operations, registration.Name, cancellation).ConfigureAwait(false);
        var last = batchEvents[^1].Sequence;
        var envelopes = new List<EventEnvelope>();
        var from = Math.Min(position + 1, batchEvents[0].Sequence); // also what a swap left the serving generation without
        using var read = ProjectionApplier.BeginEventRead(registration.Projection);
        await foreach (var envelope in events().ReadRangeAsync(from, last, cancellation).ConfigureAwait(false))
        {
            envelopes.Add(envelope);
        }

        var batch = views().BatchOn(operations, registration.Name, generations.Serving, trackCheckpoint: true);
        try
        {
            await ProjectionApplier.ApplyAsync(registration.Projection, envelopes, batch, registration.OnPoisonEvent, timeProvider, personalData, cancellation).ConfigureAwait(false);
        }
        catch (ProjectionFailedException failure)
        {
            await KeepStopAsync(generations.Serving, failure.Failure, cancellation).ConfigureAwait(false);
            throw;
        }

        batch.Checkpoint(last);
        await batch.CommitAsync(cancellation).ConfigureAwait(false);
    }

    /// <summary>Stores the letter of the event the projection stopped at, in a session of its own; the checkpoint stays before it.</summary>
    private async Task KeepStopAsync(int generation, DeadLetter failure, CancellationToken cancellation)
    {
        var batch = await views().BeginAsync(registration.Name, generation, cancellation).ConfigureAwait(false);
        await using (batch.ConfigureAwait(false))
        {
            batch.DeadLetter(failure);
            await batch.CommitAsync(cancellation).ConfigureAwait(false);
        }
    }

    private async Task ApplyInlineAsync(IDocumentOperations operations, IReadOnlyList<IEvent> appended, CancellationToken cancellation)
    {
        // Shared with other appends, exclusive for a swap: the generation read below stays the serving one until commit.
        await operations.QueryAsync<int>("select 1 from pg_advisory_xact_lock_shared(hashtext(?))", cancellation, MartenProjectionStore.SwapLock(registration.Name)).ConfigureAwait(false);
        var (generations, _) = await MartenProjectionStore.ServingAsync(operations, registration.Name, cancellation).ConfigureAwait(false);
        var envelopes = appended.Where(e => e.Data is not null && registry.TryGetName(e.Data.GetType(), out _)).Select(ToEnvelope).ToList();
        var batch = views().BatchOn(operations, registration.Name, generations.Serving, trackCheckpoint: false);
        await ProjectionApplier.ApplyAsync(registration.Projection, envelopes, batch, PoisonEventPolicy.Stop, timeProvider, personalData, cancellation).ConfigureAwait(false);
        await batch.CommitAsync(cancellation).ConfigureAwait(false);
    }

    private EventEnvelope ToEnvelope(IEvent @event) => new(
        @event.Id,
        @event.StreamKey!,
        @event.Version,
        @event.Sequence,
        registry.GetName(@event.Data.GetType()),
        @event.Data,
        new EventMetadata
        {
            CorrelationId = @event.CorrelationId,
            CausationId = @event.CausationId,
            User = @event.UserName,
            CommandId = @event.Headers?.TryGetValue(MartenEventStore.CommandIdHeader, out var id) == true && Guid.TryParse(id?.ToString(), out var commandId) ? commandId : null,
            TraceParent = @event.Headers?.TryGetValue(MartenEventStore.TraceParentHeader, out var traceParent) == true ? traceParent?.ToString() : null,
        },
        @event.Timestamp);
}
