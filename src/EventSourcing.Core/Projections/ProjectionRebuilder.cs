using EventSourcing.Diagnostics;
using EventSourcing.Privacy;
using EventSourcing.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EventSourcing.Projections;

/// <summary>
/// Rebuilds a projection blue/green: replays the whole log into a new generation beside the serving one, then swaps
/// it in at once; readers see the old views until the swap and the new ones after, never a half-built view. A rebuild
/// that dies (cancelled, killed) resumes from its own checkpoint when started again. Resolve it from the container
/// <c>AddEventSourcing</c> fills.
/// </summary>
public sealed partial class ProjectionRebuilder
{
    private readonly ProjectionCatalog _catalog;
    private readonly IProjectionStore _views;
    private readonly GenerationBuilder _builder;
    private readonly ILogger _logger;

    /// <summary>Creates the rebuilder over the generations <paramref name="builder"/> builds (the container's, shared with the runner and the verifier).</summary>
    internal ProjectionRebuilder(ProjectionCatalog catalog, IProjectionStore views, GenerationBuilder builder, ILogger<ProjectionRebuilder>? logger = null)
    {
        _catalog = catalog ?? throw new ArgumentNullException(nameof(catalog));
        _views = views ?? throw new ArgumentNullException(nameof(views));
        _builder = builder ?? throw new ArgumentNullException(nameof(builder));
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>Rebuilds <paramref name="projection"/>, reporting progress; resumes an interrupted rebuild.</summary>
    /// <exception cref="UnknownProjectionException">No projection has that name.</exception>
    /// <exception cref="NotSupportedException">The projection is live (<see cref="ProjectionLifecycle.Live"/>): nothing is stored to rebuild.</exception>
    /// <exception cref="ProjectionFailedException">An event failed and the rebuild policy is to stop (the default); the serving views are untouched and a later rebuild resumes.</exception>
    public async Task<RebuildResult> RebuildAsync(string projection, IProgress<RebuildProgress>? progress, CancellationToken cancellationToken = default)
    {
        var registration = _catalog.Get(projection);
        if (registration.Lifecycle == ProjectionLifecycle.Live)
        {
            throw new NotSupportedException($"Projection '{projection}' is live: its views are folded on read, not stored, so there is nothing to rebuild.");
        }

        using var activity = Telemetry.Start($"rebuild {projection}");
        activity?.SetTag(Telemetry.FollowerName, projection);
        var state = await _views.ReadStateAsync(projection, cancellationToken).ConfigureAwait(false);
        var resumed = state.BuildingGeneration is not null;
        var generation = await _views.StartGenerationAsync(projection, scratch: false, cancellationToken).ConfigureAwait(false);
        var from = resumed ? state.BuildingPosition : 0;
        LogStarted(_logger, projection, generation, from);
        var position = await _builder.BuildAsync(registration, generation, from, registration.OnPoisonEventInRebuild, progress, cancellationToken).ConfigureAwait(false);
        var replaced = await _views.SwapAsync(projection, generation, cancellationToken).ConfigureAwait(false);
        if (replaced != generation)
        {
            await _views.DropGenerationAsync(projection, replaced, cancellationToken).ConfigureAwait(false);
        }

        LogSwapped(_logger, projection, generation, position);
        activity?.SetTag(Telemetry.Position, position);
        return new RebuildResult(projection, generation, position, resumed);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Rebuilding projection {Projection} into generation {Generation} from position {Position}")]
    private static partial void LogStarted(ILogger logger, string projection, int generation, long position);

    [LoggerMessage(Level = LogLevel.Information, Message = "Projection {Projection} now serves generation {Generation}, rebuilt to position {Position}")]
    private static partial void LogSwapped(ILogger logger, string projection, int generation, long position);
}

/// <summary>The outcome of a rebuild.</summary>
/// <param name="Projection">The projection.</param>
/// <param name="Generation">The generation now serving.</param>
/// <param name="Position">The position the rebuild reached before the swap.</param>
/// <param name="Resumed">Whether it continued an interrupted rebuild.</param>
public sealed record RebuildResult(string Projection, int Generation, long Position, bool Resumed);
