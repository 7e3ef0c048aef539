using EventSourcing.Events;
using EventSourcing.Privacy;
using EventSourcing.Storage;

namespace EventSourcing.Projections;

/// <summary>
/// Applies the inline projections inside an append, before it becomes visible: every projection's changes are
/// prepared first and committed only if all succeeded, and a failure fails the append. Events the serving generation
/// has not seen yet (appended while a rebuild swapped generations) are applied first.
/// </summary>
internal sealed class InlineProjector(ProjectionCatalog catalog, IProjectionStore views, TimeProvider timeProvider, EventSourcingJson? personalData)
    : IAppendParticipant
{
    private readonly ProjectionRegistration[] _inline = [.. catalog.All.Where(r => r.Lifecycle == ProjectionLifecycle.Inline)];

    /// <summary>Whether there is any inline projection.</summary>
    public bool IsEmpty => _inline.Length == 0;

    /// <inheritdoc />
    public Task OnAppendingAsync(IEventReader log, IReadOnlyList<EventEnvelope> appended, CancellationToken cancellationToken) =>
        ProjectAsync(log, appended, cancellationToken);

    /// <summary>Projects <paramref name="appended"/>; <paramref name="log"/> reads what came before them.</summary>
    public async Task ProjectAsync(IEventReader log, IReadOnlyList<EventEnvelope> appended, CancellationToken cancellationToken)
    {
        var batches = new List<IProjectionBatch>(_inline.Length);
        try
        {
            foreach (var registration in _inline)
            {
                var state = await views.ReadStateAsync(registration.Name, cancellationToken).ConfigureAwait(false);
                var events = new List<EventEnvelope>();
                if (state.ServingPosition < appended[0].Position - 1)
                {
                    await foreach (var missed in log.ReadAllAsync(state.ServingPosition + 1, cancellationToken).ConfigureAwait(false))
                    {
                        if (missed.Position >= appended[0].Position)
                        {
                            break;
                        }

                        events.Add(missed);
                    }
                }

                events.AddRange(appended);
                var batch = await views.BeginAsync(registration.Name, state.ServingGeneration, cancellationToken).ConfigureAwait(false);
                batches.Add(batch);
                await ProjectionApplier.ApplyAsync(registration.Projection, events, batch, PoisonEventPolicy.Stop, timeProvider, personalData, cancellationToken).ConfigureAwait(false);
            }

            foreach (var batch in batches)
            {
                await batch.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            foreach (var batch in batches)
            {
                await batch.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
