using EventSourcing.Events;
using EventSourcing.Privacy;
using EventSourcing.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;

namespace EventSourcing.Projections;

/// <summary>
/// Runs the async projections of stores without a daemon of their own (the in-memory store): one loop per projection
/// follows the log from the serving generation's checkpoint, applies pages of events and commits views and checkpoint
/// together. After a rebuild swaps generations it simply continues from the new generation's checkpoint. Failing
/// events are dead-lettered (or stop the projection) as the registration says; other errors are retried with a pause
/// growing to 5 seconds, logged. A projection that stops keeps the event it stopped at as a dead letter, past its
/// checkpoint: status reads it as stopped there.
/// </summary>
internal sealed partial class AsyncProjectionRunner : BackgroundService
{
    private readonly ProjectionCatalog _catalog;
    private readonly IEventReader _events;
    private readonly IProjectionStore _views;
    private readonly GenerationBuilder _builder;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;

    /// <summary>Creates the runner over the generations <paramref name="builder"/> writes (the container's, shared with the rebuilder and the verifier).</summary>
    public AsyncProjectionRunner(ProjectionCatalog catalog, IEventReader events, IProjectionStore views, GenerationBuilder builder, TimeProvider? timeProvider = null, ILogger<AsyncProjectionRunner>? logger = null)
    {
        _catalog = catalog ?? throw new ArgumentNullException(nameof(catalog));
        _events = events ?? throw new ArgumentNullException(nameof(events));
        _views = views ?? throw new ArgumentNullException(nameof(views));
        _builder = builder ?? throw new ArgumentNullException(nameof(builder));
        _timeProvider = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <inheritdoc />
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(_catalog.All.Where(r => r.Lifecycle == ProjectionLifecycle.Async).Select(r => RunAsync(r, stoppingToken)));

    /// <summary>Follows the log for one projection until <paramref name="cancellationToken"/> is cancelled, or a poison event stops it.</summary>
    internal async Task RunAsync(ProjectionRegistration registration, CancellationToken cancellationToken)
    {
        await Task.Yield();
        var retry = FollowerRetry.Create(_timeProvider, (exception, attempt, pause) => LogRetrying(_logger, exception, registration.Name, attempt, pause), permanent: e => e is ProjectionFailedException);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await retry.ExecuteAsync(token => new ValueTask(StepAsync(registration, token)), cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception) when (cancellationToken.IsCancellationRequested)
        {
            // stopping
        }
        catch (ProjectionFailedException failure)
        {
            LogStopped(_logger, failure, registration.Name);
            await KeepStopAsync(registration, failure.Failure, retry, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Keeps the event the projection stopped at as a dead letter, without moving the checkpoint over it: what status reads
    /// as <see cref="ProjectionStates.Stopped"/> at that event, from any process sharing the store.
    /// </summary>
    private async Task KeepStopAsync(ProjectionRegistration registration, DeadLetter failure, ResiliencePipeline retry, CancellationToken cancellationToken)
    {
        try
        {
            await retry.ExecuteAsync(
                async token =>
                {
                    var state = await _views.ReadStateAsync(registration.Name, token).ConfigureAwait(false);
                    var batch = await _views.BeginAsync(registration.Name, state.ServingGeneration, token).ConfigureAwait(false);
                    await using (batch.ConfigureAwait(false))
                    {
                        batch.DeadLetter(failure);
                        await batch.CommitAsync(token).ConfigureAwait(false);
                    }
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (cancellationToken.IsCancellationRequested)
        {
            // stopping
        }
    }

    /// <summary>Applies the next page of events, or waits for one to be appended.</summary>
    private async Task StepAsync(ProjectionRegistration registration, CancellationToken cancellationToken)
    {
        var state = await _views.ReadStateAsync(registration.Name, cancellationToken).ConfigureAwait(false);
        var page = new List<EventEnvelope>(GenerationBuilder.PageSize);
        using var read = ProjectionApplier.BeginEventRead(registration.Projection);
        await foreach (var envelope in _events.ReadAllAsync(state.ServingPosition + 1, cancellationToken).ConfigureAwait(false))
        {
            page.Add(envelope);
            if (page.Count == GenerationBuilder.PageSize)
            {
                break;
            }
        }

        if (page.Count > 0)
        {
            await _builder.CommitAsync(registration, state.ServingGeneration, page, registration.OnPoisonEvent, cancellationToken).ConfigureAwait(false);
            return;
        }

        await WaitForAppendAsync(state.ServingPosition + 1, cancellationToken).ConfigureAwait(false);
    }

    private async Task WaitForAppendAsync(long position, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var next = _events.SubscribeAllAsync(position, linked.Token).GetAsyncEnumerator(linked.Token);
        await using var dispose = next.ConfigureAwait(false);
        await next.MoveNextAsync().ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Projection {Projection} stopped on a poison event; fix it and restart, or rebuild")]
    private static partial void LogStopped(ILogger logger, Exception exception, string projection);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Projection {Projection} failed to apply a page (attempt {Attempt}); retrying in {Pause}")]
    private static partial void LogRetrying(ILogger logger, Exception exception, string projection, int attempt, TimeSpan pause);
}
