using System.Collections.Concurrent;
using System.Linq.Expressions;
using System.Runtime.CompilerServices;
using EventSourcing.Privacy;
using EventSourcing.Projections;
using EventSourcing.Storage;
using EventSourcing.Marten.Storage;
using JasperFx;
using Marten;

namespace EventSourcing.Marten.Projections;

/// <summary>
/// Projected views as Marten documents (<see cref="ViewDocument{TView}"/>), one generation beside another, with the
/// generation pointer and checkpoints as documents too. Async projections are run by Marten's daemon through
/// the projection adapter; their checkpoint is written in the daemon's transaction with the views.
/// </summary>
public sealed partial class MartenProjectionStore : IProjectionStore
{
    private readonly IDocumentStore _store;
    private readonly ProjectionCatalog _catalog;
    private readonly IEventReader _events;
    private readonly PersonalDataProtector _protector;
    private readonly ConcurrentDictionary<Type, IViewTable> _tables = new();

    /// <summary>Creates the store; <paramref name="protector"/> loads the keys views need before they are read.</summary>
    public MartenProjectionStore(IDocumentStore store, ProjectionCatalog catalog, IEventReader events, PersonalDataProtector protector)
    {
        _protector = protector ?? throw new ArgumentNullException(nameof(protector));
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _catalog = catalog ?? throw new ArgumentNullException(nameof(catalog));
        _events = events ?? throw new ArgumentNullException(nameof(events));
    }

    /// <summary>Registers the documents the projections of <paramref name="catalog"/> need.</summary>
    public static void Configure(StoreOptions options, ProjectionCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(catalog);
        options.Schema.For<ProjectionGenerations>().UseOptimisticConcurrency(true);
        options.Schema.For<GenerationCheckpoint>();
        options.Schema.For<DeadLetterDocument>().Index(d => d.Projection);
        foreach (var registration in catalog.All.Where(r => r.Lifecycle != ProjectionLifecycle.Live))
        {
            IViewTable.Configure(registration.Projection.ViewType, options);
        }
    }

    /// <inheritdoc />
    public Task<ProjectionState> ReadStateAsync(string projection, CancellationToken cancellationToken = default) => MartenErrors.GuardAsync(async cancellationToken =>
    {
        var session = _store.QuerySession();
        await using var dispose = session.ConfigureAwait(false);
        var (generations, serving, building) = await StateAsync(session, projection, cancellationToken).ConfigureAwait(false);
        if (_catalog.All.Any(r => r.Name == projection && r.Lifecycle == ProjectionLifecycle.Inline))
        {
            serving = await _events.ReadHeadPositionAsync(cancellationToken).ConfigureAwait(false); // written with every append
        }

        return new ProjectionState(projection, generations.Serving, serving, generations.Building, building);
    }, cancellationToken);

    /// <inheritdoc />
    public Task<int> StartGenerationAsync(string projection, bool scratch, CancellationToken cancellationToken = default) =>
        UpdateGenerationsAsync(projection, generations =>
        {
            if (!scratch && generations.Building is { } building)
            {
                return building;
            }

            var generation = generations.NextGeneration++;
            if (!scratch)
            {
                generations.Building = generation;
            }

            return generation;
        }, null, cancellationToken);

    /// <inheritdoc />
    public async Task<IProjectionBatch> BeginAsync(string projection, int generation, CancellationToken cancellationToken = default)
    {
        await Task.CompletedTask.ConfigureAwait(false);
        return new MartenBatch(Table(projection), _store.LightweightSession(), ownsSession: true, projection, generation, trackCheckpoint: true);
    }

    /// <inheritdoc />
    public Task<int> SwapAsync(string projection, int generation, CancellationToken cancellationToken = default) =>
        UpdateGenerationsAsync(projection, generations =>
        {
            var replaced = generations.Serving;
            generations.Serving = generation;
            if (generations.Building == generation)
            {
                generations.Building = null;
            }

            return replaced;
        }, SwapLock(projection), cancellationToken);

    /// <inheritdoc />
    public Task DropGenerationAsync(string projection, int generation, CancellationToken cancellationToken = default) => MartenErrors.GuardAsync(async cancellationToken =>
    {
        var session = _store.LightweightSession();
        await using var dispose = session.ConfigureAwait(false);
        var generations = await session.LoadAsync<ProjectionGenerations>(projection, cancellationToken).ConfigureAwait(false);
        if (generations?.Serving == generation)
        {
            throw new InvalidOperationException($"Generation {generation} of projection '{projection}' is serving and cannot be dropped.");
        }

        Table(projection)?.DeleteGeneration(session, projection, generation);
        session.Delete<GenerationCheckpoint>(GenerationCheckpoint.DocumentId(projection, generation));
        if (generations?.Building == generation)
        {
            generations.Building = null;
            session.Store(generations);
        }

        await session.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
    }, cancellationToken);

    /// <inheritdoc />
    public async IAsyncEnumerable<ViewRecord> ReadViewsAsync(string projection, int generation, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var session = _store.QuerySession();
        await using var dispose = session.ConfigureAwait(false);
        var table = Table(projection) ?? throw new UnknownProjectionException(projection, [.. _catalog.All.Select(r => r.Name)]);
        await foreach (var record in table.ReadAllAsync(session, projection, generation, cancellationToken).ConfigureAwait(false))
        {
            yield return record;
        }
    }

    /// <inheritdoc />
    public Task<TView?> FindAsync<TView>(string projection, int generation, string id, CancellationToken cancellationToken = default)
        where TView : class => MartenErrors.GuardAsync(async cancellationToken =>
    {
        var session = _store.QuerySession();
        await using var dispose = session.ConfigureAwait(false);
        return await TableOf<TView>().FindAsync(session, projection, generation, id, cancellationToken).ConfigureAwait(false);
    }, cancellationToken);

    /// <inheritdoc />
    /// <exception cref="PersonalDataQueryException">The predicate compares a personal field: stored as ciphertext, it would match nothing.</exception>
    public Task<IReadOnlyList<TView>> QueryAsync<TView>(string projection, int generation, Expression<Func<TView, bool>> predicate, CancellationToken cancellationToken = default)
        where TView : class
    {
        PersonalDataQueries.EnsureNoPersonalFields(predicate);
        return QueryCoreAsync(projection, generation, predicate, cancellationToken);
    }

    private Task<IReadOnlyList<TView>> QueryCoreAsync<TView>(string projection, int generation, Expression<Func<TView, bool>> predicate, CancellationToken cancellationToken)
        where TView : class => MartenErrors.GuardAsync(async cancellationToken =>
    {
        var session = _store.QuerySession();
        await using var dispose = session.ConfigureAwait(false);
        return await TableOf<TView>().QueryAsync(session, projection, generation, predicate, cancellationToken).ConfigureAwait(false);
    }, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<DeadLetter>> ReadDeadLettersAsync(string projection, CancellationToken cancellationToken = default) => MartenErrors.GuardAsync<IReadOnlyList<DeadLetter>>(async cancellationToken =>
    {
        var session = _store.QuerySession();
        await using var dispose = session.ConfigureAwait(false);
        var letters = await session.Query<DeadLetterDocument>().Where(d => d.Projection == projection).OrderBy(d => d.Position).ToListAsync(cancellationToken).ConfigureAwait(false);
        return [.. letters.Select(d => new DeadLetter(d.Projection, d.Position, d.EventId, d.StreamId, d.EventType, d.Error, d.FailedAt))];
    }, cancellationToken);

    /// <inheritdoc />
    public Task DropDeadLettersAsync(string projection, long fromPosition, CancellationToken cancellationToken = default) => MartenErrors.GuardAsync(async cancellationToken =>
    {
        var session = _store.LightweightSession();
        await using var dispose = session.ConfigureAwait(false);
        session.DeleteWhere<DeadLetterDocument>(d => d.Projection == projection && d.Position >= fromPosition);
        await session.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
    }, cancellationToken);

    /// <inheritdoc />
    /// <remarks>Checkpoints move in other processes too, so this waits a short interval rather than for a signal.</remarks>
    public Task WaitForChangeAsync(TimeSpan timeout, CancellationToken cancellationToken = default) =>
        Task.Delay(timeout < TimeSpan.FromMilliseconds(50) ? timeout : TimeSpan.FromMilliseconds(50), cancellationToken);

    /// <summary>A batch inside a unit of work someone else commits (the daemon's or the append's transaction).</summary>
    internal IProjectionBatch BatchOn(IDocumentOperations operations, string projection, int generation, bool trackCheckpoint) =>
        new MartenBatch(Table(projection), operations, ownsSession: false, projection, generation, trackCheckpoint);

    /// <summary>The serving generation and its checkpoint, read in <paramref name="session"/>.</summary>
    internal static async Task<(ProjectionGenerations Generations, long Position)> ServingAsync(IQuerySession session, string projection, CancellationToken cancellationToken)
    {
        var (generations, serving, _) = await StateAsync(session, projection, cancellationToken).ConfigureAwait(false);
        return (generations, serving);
    }

    /// <summary>
    /// The generations of <paramref name="projection"/> and the checkpoints of the serving and the building one, read in
    /// <paramref name="session"/>: one statement on plain document tables, Marten's loads otherwise.
    /// </summary>
    internal static async Task<(ProjectionGenerations Generations, long Serving, long Building)> StateAsync(IQuerySession session, string projection, CancellationToken cancellationToken)
    {
        var sql = ProjectionDocumentsSql.For(session.DocumentStore);
        if (sql.CanRead)
        {
            await MartenSchema.For(session.DocumentStore).EnsureAsync(Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, cancellationToken).ConfigureAwait(false);
            var row = (await session.QueryAsync<ProjectionDocumentsSql.StateRow>(sql.ReadState, cancellationToken, projection, projection, projection).ConfigureAwait(false))[0];
            var read = row.Generations ?? new ProjectionGenerations { Id = projection };
            return (read, row.Serving?.Position ?? 0, read.Building is null ? 0 : row.Building?.Position ?? 0);
        }

        var generations = await session.LoadAsync<ProjectionGenerations>(projection, cancellationToken).ConfigureAwait(false)
            ?? new ProjectionGenerations { Id = projection };
        var serving = await PositionAsync(session, projection, generations.Serving, cancellationToken).ConfigureAwait(false);
        var building = generations.Building is { } b ? await PositionAsync(session, projection, b, cancellationToken).ConfigureAwait(false) : 0;
        return (generations, serving, building);
    }

    /// <summary>The advisory lock (key) a swap takes exclusively and inline projections share, so no append writes an old generation after a swap.</summary>
    internal static string SwapLock(string projection) => $"eventsourcing-projection:{projection}";

    private static async Task<long> PositionAsync(IQuerySession session, string projection, int generation, CancellationToken cancellationToken) =>
        (await session.LoadAsync<GenerationCheckpoint>(GenerationCheckpoint.DocumentId(projection, generation), cancellationToken).ConfigureAwait(false))?.Position ?? 0;

    /// <summary>The view table of a projection; none for a checkpoint-only name (a reactor's).</summary>
    private IViewTable? Table(string projection) =>
        _catalog.All.FirstOrDefault(r => r.Name == projection) is { } registration
            ? _tables.GetOrAdd(registration.Projection.ViewType, IViewTable.For, _protector)
            : null;

    private ViewTable<TView> TableOf<TView>()
        where TView : class => (ViewTable<TView>)_tables.GetOrAdd(typeof(TView), IViewTable.For, _protector);

    private Task<int> UpdateGenerationsAsync(string projection, Func<ProjectionGenerations, int> update, string? exclusiveLock, CancellationToken cancellationToken) => MartenErrors.GuardAsync(async cancellationToken =>
    {
        for (var attempt = 0; ; attempt++)
        {
            var session = _store.LightweightSession();
            await using var dispose = session.ConfigureAwait(false);
            if (exclusiveLock is not null)
            {
                await session.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                await session.QueryAsync<int>("select 1 from pg_advisory_xact_lock(hashtext(?))", cancellationToken, exclusiveLock).ConfigureAwait(false);
            }

            var generations = await session.LoadAsync<ProjectionGenerations>(projection, cancellationToken).ConfigureAwait(false)
                ?? new ProjectionGenerations { Id = projection };
            var result = update(generations);
            session.Store(generations);
            try
            {
                await session.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
                return result;
            }
            catch (JasperFx.ConcurrencyException) when (attempt < 10)
            {
                // another process changed the generations first: read them again
            }
        }
    }, cancellationToken);
}
