using EventSourcing.Events;
using EventSourcing.Projections;
using EventSourcing.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EventSourcing.Reactors;

/// <summary>
/// Runs the registered reactors. Each runs in one process at a time, elected per reactor (<see cref="ILeaderElection"/>;
/// the others stand by and take over when it goes), and follows the log from its checkpoint (kept in the projection
/// store as generation of a view-less projection named after it), reading only the event types it handles. It handles
/// events one by one, in log order, and commits its checkpoint in batches (<see cref="ReactorOptions"/>), only ever
/// past events it has handled: after a crash it resumes from the last commit, at least once. An event it keeps failing
/// on is dead-lettered or stops it (<see cref="ReactorOptions.OnPoisonEvent"/>); the store being away only delays it.
/// A replay (<see cref="ReactorStatusReader.ReplayAsync"/>) swaps in a new generation, which the running reactor notices.
/// </summary>
internal sealed partial class ReactorRunner(
    IEnumerable<Reactor> reactors,
    ReactorCatalog catalog,
    IEventReader events,
    IProjectionStore checkpoints,
    ILeaderElection election,
    EventTypeRegistry registry,
    ReactorActivity activity,
    TimeProvider timeProvider,
    ILogger<ReactorRunner>? logger = null) : BackgroundService
{
    /// <summary>How often a standing-by process tries to become the one running a reactor.</summary>
    internal static readonly TimeSpan ElectionInterval = TimeSpan.FromSeconds(1);

    /// <summary>How often the running process looks for a replay of its reactor.</summary>
    internal static readonly TimeSpan ReplayCheckInterval = TimeSpan.FromSeconds(1);

    private readonly ILogger _logger = (ILogger?)logger ?? NullLogger.Instance;

    /// <summary>The name a reactor's checkpoint (and its leadership) is kept under.</summary>
    public static string CheckpointName(Reactor reactor) => CheckpointName((reactor ?? throw new ArgumentNullException(nameof(reactor))).Name);

    /// <summary>The name the checkpoint of the reactor named <paramref name="reactor"/> is kept under.</summary>
    public static string CheckpointName(string reactor) => Reactor.CheckpointNameOf(reactor);

    /// <inheritdoc />
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(reactors.Select(reactor => RunAsync(reactor, catalog.OptionsOf(reactor), stoppingToken)));

    private async Task RunAsync(Reactor reactor, ReactorOptions options, CancellationToken stopping)
    {
        await Task.Yield();
        var name = CheckpointName(reactor);
        var progress = activity.For(reactor.Name);
        var types = reactor.EventTypes is { } handled ? registry.StoredNamesOf(handled) : null;
        var retry = FollowerRetry.Create(timeProvider, (exception, attempt, pause) => LogRetrying(_logger, exception, reactor.Name, attempt, pause));
        while (!stopping.IsCancellationRequested)
        {
            var leadership = await TryLeadAsync(reactor, name, progress, stopping).ConfigureAwait(false);
            if (leadership is null)
            {
                progress.StandBy();
                if (!await PauseAsync(ElectionInterval, stopping).ConfigureAwait(false))
                {
                    return;
                }

                continue;
            }

            await using (leadership.ConfigureAwait(false))
            {
                LogLeading(_logger, reactor.Name, election.Node);
                using var active = CancellationTokenSource.CreateLinkedTokenSource(stopping, leadership.Lost);
                try
                {
                    while (!active.IsCancellationRequested)
                    {
                        // Reading the log or committing fails only when the store does: then follow again from the checkpoint.
                        await retry.ExecuteAsync(token => new ValueTask(FollowAsync(reactor, options, name, types, progress, leadership.Lost, token)), active.Token).ConfigureAwait(false);
                    }
                }
                catch (Exception) when (active.IsCancellationRequested)
                {
                    if (leadership.Lost.IsCancellationRequested && !stopping.IsCancellationRequested)
                    {
                        LogLeadershipLost(_logger, reactor.Name, election.Node);
                    }
                }
                finally
                {
                    progress.StandBy();
                }
            }
        }
    }

    private async Task<ILeadership?> TryLeadAsync(Reactor reactor, string name, ReactorProgress progress, CancellationToken stopping)
    {
        try
        {
            var leadership = await election.TryAcquireAsync(name, stopping).ConfigureAwait(false);
            progress.ElectionFailures = 0;
            return leadership;
        }
        catch (Exception exception) when (!stopping.IsCancellationRequested)
        {
            if (progress.ElectionFailures++ == 0)
            {
                LogElectionFailed(_logger, exception, reactor.Name); // once a run: the store is away, and every second would say so again
            }

            return null;
        }
    }

    /// <summary>Follows the log from the serving checkpoint until a replay swaps in another generation (then it returns).</summary>
    private async Task FollowAsync(Reactor reactor, ReactorOptions options, string name, IReadOnlySet<string>? types, ReactorProgress progress, CancellationToken lost, CancellationToken cancellationToken)
    {
        var state = await checkpoints.ReadStateAsync(name, cancellationToken).ConfigureAwait(false);
        var checkpoint = new PendingCheckpoint(state.ServingGeneration, state.ServingPosition, options, timeProvider);
        progress.Running(state.ServingPosition, state.ServingGeneration);
        using var replayed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var watch = WatchForReplayAsync(name, state.ServingGeneration, replayed);
        try
        {
            var pages = events.FollowAsync(state.ServingPosition + 1, types, replayed.Token).GetAsyncEnumerator(replayed.Token);
            await using (pages.ConfigureAwait(false))
            {
                while (true)
                {
                    var next = pages.MoveNextAsync();
                    bool more;
                    if (!next.IsCompleted && checkpoint.HasWork)
                    {
                        // Idle with progress not committed: commit it once the interval is due.
                        var waiting = next.AsTask();
                        if (await Task.WhenAny(waiting, Task.Delay(checkpoint.DueIn, timeProvider, replayed.Token)).ConfigureAwait(false) != waiting)
                        {
                            await CommitAsync(name, checkpoint, progress, replayed.Token).ConfigureAwait(false);
                        }

                        more = await waiting.ConfigureAwait(false);
                    }
                    else
                    {
                        more = await next.ConfigureAwait(false);
                    }

                    if (!more)
                    {
                        break;
                    }

                    var page = pages.Current;
                    var handled = reactor is PageReactor paged && page.Events.Count > 0
                        && await HandlePageAsync(paged, options, page.Events, progress, replayed.Token).ConfigureAwait(false);
                    foreach (var envelope in handled ? Array.Empty<EventEnvelope>() : page.Events)
                    {
                        if (!await HandleAsync(reactor, options, name, envelope, checkpoint, progress, replayed.Token).ConfigureAwait(false))
                        {
                            await CommitAsync(name, checkpoint, progress, replayed.Token).ConfigureAwait(false);
                            progress.Stopped();
                            await Task.Delay(Timeout.InfiniteTimeSpan, timeProvider, replayed.Token).ConfigureAwait(false); // until replayed or stopped
                        }

                        checkpoint.Handled(envelope.Position);
                        if (checkpoint.Due)
                        {
                            await CommitAsync(name, checkpoint, progress, replayed.Token).ConfigureAwait(false);
                        }
                    }

                    if (handled)
                    {
                        foreach (var envelope in page.Events)
                        {
                            checkpoint.Handled(envelope.Position);
                        }
                    }

                    checkpoint.Reached(page.Through);
                    if ((page.CaughtUp && checkpoint.HandledSinceCommit > 0) || checkpoint.Due)
                    {
                        await CommitAsync(name, checkpoint, progress, replayed.Token).ConfigureAwait(false);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested && !lost.IsCancellationRequested)
        {
            // A graceful stop: still elected, so commit what was handled before letting go.
            await CommitAsync(name, checkpoint, progress, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
        catch (OperationCanceledException) when (replayed.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            LogReplaying(_logger, reactor.Name); // a new generation serves: follow it from its checkpoint
        }
        finally
        {
            await replayed.CancelAsync().ConfigureAwait(false);
            await watch.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>Cancels <paramref name="replayed"/> once another generation than <paramref name="generation"/> serves the checkpoint.</summary>
    private async Task WatchForReplayAsync(string name, int generation, CancellationTokenSource replayed)
    {
        var token = replayed.Token;
        while (await PauseAsync(ReplayCheckInterval, token).ConfigureAwait(false))
        {
            try
            {
                if ((await checkpoints.ReadStateAsync(name, token).ConfigureAwait(false)).ServingGeneration != generation)
                {
                    await replayed.CancelAsync().ConfigureAwait(false);
                    return;
                }
            }
            catch (Exception) when (!token.IsCancellationRequested)
            {
                // the store is away: the follower finds out itself
            }
        }
    }

    private async Task CommitAsync(string name, PendingCheckpoint checkpoint, ReactorProgress progress, CancellationToken cancellationToken)
    {
        if (!checkpoint.HasWork)
        {
            return;
        }

        var batch = await checkpoints.BeginAsync(name, checkpoint.Generation, cancellationToken).ConfigureAwait(false);
        await using (batch.ConfigureAwait(false))
        {
            foreach (var letter in checkpoint.Letters)
            {
                batch.DeadLetter(letter);
            }

            batch.Checkpoint(checkpoint.Position);
            await batch.CommitAsync(cancellationToken).ConfigureAwait(false);
        }

        checkpoint.Committed();
        progress.Committed(checkpoint.Position);
    }

    private async Task<bool> PauseAsync(TimeSpan pause, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(pause, timeProvider, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Reactor {Reactor} runs on {Node}")]
    private static partial void LogLeading(ILogger logger, string reactor, string node);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reactor {Reactor} lost its leadership on {Node}; it stands by")]
    private static partial void LogLeadershipLost(ILogger logger, string reactor, string node);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reactor {Reactor} could not be elected (the store may be away); trying again every second")]
    private static partial void LogElectionFailed(ILogger logger, Exception exception, string reactor);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reactor {Reactor} was replayed: it follows its new checkpoint")]
    private static partial void LogReplaying(ILogger logger, string reactor);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reactor {Reactor} failed (attempt {Attempt}); retrying in {Pause}")]
    private static partial void LogRetrying(ILogger logger, Exception exception, string reactor, int attempt, TimeSpan pause);
}
