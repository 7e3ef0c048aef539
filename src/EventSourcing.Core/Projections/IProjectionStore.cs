using System.Linq.Expressions;

namespace EventSourcing.Projections;

/// <summary>
/// Where a store keeps projected views: per projection, numbered generations of views, each with the position it
/// has reached; one generation serves readers, another may be building (a rebuild), and scratch generations serve
/// verification. Writes go through <see cref="IProjectionBatch"/>, whose commit stores views and checkpoint together.
/// </summary>
public interface IProjectionStore
{
    /// <summary>The projection's generations and positions (a projection never run serves generation 1 at position 0).</summary>
    Task<ProjectionState> ReadStateAsync(string projection, CancellationToken cancellationToken = default);

    /// <summary>
    /// The generation a rebuild writes into: the one already building (to resume), or a new one recorded as building.
    /// With <paramref name="scratch"/>, always a new generation that is never recorded as building (for verification).
    /// </summary>
    Task<int> StartGenerationAsync(string projection, bool scratch, CancellationToken cancellationToken = default);

    /// <summary>Begins a unit of work on one generation of the projection's views.</summary>
    Task<IProjectionBatch> BeginAsync(string projection, int generation, CancellationToken cancellationToken = default);

    /// <summary>Makes <paramref name="generation"/> the serving one, atomically; readers switch from their next read. Returns the generation it replaced.</summary>
    Task<int> SwapAsync(string projection, int generation, CancellationToken cancellationToken = default);

    /// <summary>Deletes a generation's views and checkpoint (never the serving one).</summary>
    Task DropGenerationAsync(string projection, int generation, CancellationToken cancellationToken = default);

    /// <summary>Every record of a generation, deleted views included, in id order.</summary>
    IAsyncEnumerable<ViewRecord> ReadViewsAsync(string projection, int generation, CancellationToken cancellationToken = default);

    /// <summary>One live view of a generation, or null.</summary>
    Task<TView?> FindAsync<TView>(string projection, int generation, string id, CancellationToken cancellationToken = default)
        where TView : class;

    /// <summary>
    /// The live views of a generation that match <paramref name="predicate"/>. A predicate that reads a
    /// <see cref="Privacy.PersonalDataAttribute"/> field is refused with <see cref="Privacy.PersonalDataQueryException"/>.
    /// </summary>
    Task<IReadOnlyList<TView>> QueryAsync<TView>(string projection, int generation, Expression<Func<TView, bool>> predicate, CancellationToken cancellationToken = default)
        where TView : class;

    /// <summary>The projection's dead letters, oldest first.</summary>
    Task<IReadOnlyList<DeadLetter>> ReadDeadLettersAsync(string projection, CancellationToken cancellationToken = default);

    /// <summary>Deletes the projection's dead letters at <paramref name="fromPosition"/> and after: their events are being handled again (a replay).</summary>
    Task DropDeadLettersAsync(string projection, long fromPosition, CancellationToken cancellationToken = default);

    /// <summary>Completes when any projection's checkpoint may have moved, or after <paramref name="timeout"/>.</summary>
    Task WaitForChangeAsync(TimeSpan timeout, CancellationToken cancellationToken = default);
}

/// <summary>A unit of work on one generation: loads, puts, dead letters and the checkpoint, committed together.</summary>
public interface IProjectionBatch : IAsyncDisposable
{
    /// <summary>The stored records (deleted views included) of the given ids that exist.</summary>
    Task<IReadOnlyDictionary<string, ViewRecord>> LoadAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken = default);

    /// <summary>Stores a record (a null view keeps a deletion).</summary>
    void Put(ViewRecord record);

    /// <summary>Stores a dead letter.</summary>
    void DeadLetter(DeadLetter letter);

    /// <summary>Moves the generation's checkpoint to <paramref name="position"/> (never backwards).</summary>
    void Checkpoint(long position);

    /// <summary>Stores everything at once.</summary>
    Task CommitAsync(CancellationToken cancellationToken = default);
}

/// <summary>A projection's generations.</summary>
/// <param name="Projection">The projection's name.</param>
/// <param name="ServingGeneration">The generation readers see.</param>
/// <param name="ServingPosition">The position the serving generation has reached.</param>
/// <param name="BuildingGeneration">The generation a rebuild is writing, if one is under way or was interrupted.</param>
/// <param name="BuildingPosition">The position the building generation has reached.</param>
public sealed record ProjectionState(string Projection, int ServingGeneration, long ServingPosition, int? BuildingGeneration, long BuildingPosition);
