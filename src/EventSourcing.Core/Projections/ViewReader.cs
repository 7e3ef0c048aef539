using System.Linq.Expressions;
using EventSourcing.Privacy;
using EventSourcing.Storage;

namespace EventSourcing.Projections;

/// <summary>The <see cref="IViewReader"/> over the projection store; live projections fold their stream on each read.</summary>
internal sealed class ViewReader(ProjectionCatalog catalog, IProjectionStore views, IEventReader events, TimeProvider timeProvider) : IViewReader
{
    public async Task<TView?> FindAsync<TView>(string id, CancellationToken cancellationToken = default)
        where TView : class
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        var registration = catalog.ForView(typeof(TView));
        if (registration.Lifecycle == ProjectionLifecycle.Live)
        {
            return await FoldAsync<TView>(registration.Projection, id, cancellationToken).ConfigureAwait(false);
        }

        var state = await views.ReadStateAsync(registration.Name, cancellationToken).ConfigureAwait(false);
        return await views.FindAsync<TView>(registration.Name, state.ServingGeneration, id, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<TView>> QueryAsync<TView>(Expression<Func<TView, bool>> predicate, CancellationToken cancellationToken = default)
        where TView : class
    {
        PersonalDataQueries.EnsureNoPersonalFields(predicate);
        var registration = catalog.ForView(typeof(TView));
        if (registration.Lifecycle == ProjectionLifecycle.Live)
        {
            throw new NotSupportedException($"Projection '{registration.Name}' is live: its views are folded per stream on read and cannot be queried. Make it inline or async to query it.");
        }

        var state = await views.ReadStateAsync(registration.Name, cancellationToken).ConfigureAwait(false);
        return await views.QueryAsync(registration.Name, state.ServingGeneration, predicate, cancellationToken).ConfigureAwait(false);
    }

    public Task<bool> WaitForPositionAsync<TView>(long position, TimeSpan timeout, CancellationToken cancellationToken = default)
        where TView : class =>
        WaitForPositionAsync(catalog.ForView(typeof(TView)).Name, position, timeout, cancellationToken);

    public async Task<bool> WaitForPositionAsync(string projection, long position, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        if (catalog.Get(projection).Lifecycle == ProjectionLifecycle.Live)
        {
            return true;
        }

        var deadline = timeProvider.GetUtcNow() + timeout;
        while (true)
        {
            if ((await views.ReadStateAsync(projection, cancellationToken).ConfigureAwait(false)).ServingPosition >= position)
            {
                return true;
            }

            var left = deadline - timeProvider.GetUtcNow();
            if (left <= TimeSpan.Zero)
            {
                return false;
            }

            await views.WaitForChangeAsync(left < TimeSpan.FromMilliseconds(250) ? left : TimeSpan.FromMilliseconds(250), cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<TView?> FoldAsync<TView>(IProjection projection, string streamId, CancellationToken cancellationToken)
        where TView : class
    {
        object? view = null;
        await foreach (var envelope in events.ReadStreamAsync(streamId, 1, cancellationToken).ConfigureAwait(false))
        {
            if (projection.ViewIds(envelope).Contains(streamId, StringComparer.Ordinal))
            {
                view = projection.Evolve(streamId, view, envelope);
            }
        }

        return (TView?)view;
    }
}
