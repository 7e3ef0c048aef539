using System.Linq.Expressions;

namespace EventSourcing.Projections;

/// <summary>Reads projected views, from whichever generation serves, and waits for a projection to reach a position.</summary>
public interface IViewReader
{
    /// <summary>The view <paramref name="id"/> of the projection that builds <typeparamref name="TView"/>, or null.</summary>
    Task<TView?> FindAsync<TView>(string id, CancellationToken cancellationToken = default)
        where TView : class;

    /// <summary>
    /// The views of <typeparamref name="TView"/> that match <paramref name="predicate"/> (not for live projections). The
    /// predicate may not read a <see cref="Privacy.PersonalDataAttribute"/> field of the view: stored encrypted, it cannot be
    /// compared, and every store refuses such a query alike.
    /// </summary>
    /// <exception cref="Privacy.PersonalDataQueryException">The predicate reads a personal field.</exception>
    Task<IReadOnlyList<TView>> QueryAsync<TView>(Expression<Func<TView, bool>> predicate, CancellationToken cancellationToken = default)
        where TView : class;

    /// <summary>
    /// Waits until the projection that builds <typeparamref name="TView"/> has passed <paramref name="position"/>
    /// (the position an append returned: read your own write). False when <paramref name="timeout"/> passes first.
    /// </summary>
    Task<bool> WaitForPositionAsync<TView>(long position, TimeSpan timeout, CancellationToken cancellationToken = default)
        where TView : class;

    /// <summary>Waits until the projection named <paramref name="projection"/> has passed <paramref name="position"/>; false on timeout.</summary>
    Task<bool> WaitForPositionAsync(string projection, long position, TimeSpan timeout, CancellationToken cancellationToken = default);
}
