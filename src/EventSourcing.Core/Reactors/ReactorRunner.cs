using EventSourcing.Events;
using EventSourcing.Hosting;
using EventSourcing.Projections;
using EventSourcing.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EventSourcing.Reactors;

/// <summary>
/// Runs the registered reactors: each follows the log from its checkpoint (kept in the projection store, as generation 1
/// of a view-less projection named after it), handles events one by one and moves the checkpoint after each. Whatever
/// fails (an event, or the store itself) is retried with a pause growing to 5 seconds, logged; the reactor never skips an
/// event it can read. One it cannot (<see cref="UnreadableEvent"/>) is skipped with an error logged and a dead letter kept
/// under the reactor's checkpoint name.
/// </summary>
public sealed partial class ReactorRunner(IEnumerable<Reactor> reactors, IEventReader events, IProjectionStore checkpoints, TimeProvider timeProvider, ILogger<ReactorRunner>? logger = null)
    : BackgroundService
{
    private readonly ILogger _logger = (ILogger?)logger ?? NullLogger.Instance;

    /// <inheritdoc />
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.WhenAll(reactors.Select(r => RunAsync(r, stoppingToken)));

    private async Task RunAsync(Reactor reactor, CancellationToken cancellationToken)
    {
        await Task.Yield();
        var retry = FollowerRetry.Create(timeProvider, (exception, attempt, pause) => LogRetrying(_logger, exception, reactor.Name, attempt, pause));
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                // Reading the log fails only when the store does: then subscribe again from the checkpoint.
                await retry.ExecuteAsync(token => new ValueTask(FollowAsync(reactor, retry, token)), cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception) when (cancellationToken.IsCancellationRequested)
        {
            // stopping
        }
    }

    private async Task FollowAsync(Reactor reactor, Polly.ResiliencePipeline retry, CancellationToken cancellationToken)
    {
        var state = await checkpoints.ReadStateAsync(CheckpointName(reactor), cancellationToken).ConfigureAwait(false);
        await foreach (var envelope in events.SubscribeAllAsync(state.ServingPosition + 1, cancellationToken).ConfigureAwait(false))
        {
            // An event that fails is retried in place, its attempts counted afresh: the reactor never skips one.
            await retry.ExecuteAsync(token => new ValueTask(HandleAsync(reactor, envelope, token)), cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task HandleAsync(Reactor reactor, EventEnvelope envelope, CancellationToken cancellationToken)
    {
        var unreadable = envelope.Data as UnreadableEvent;
        if (unreadable is null)
        {
            await reactor.ReactAsync(envelope, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            // No retry can read it: skip it, loudly, rather than stop every reaction to the events after it.
            LogUnreadable(_logger, unreadable.Error, reactor.Name, envelope.Position, envelope.EventType, envelope.StreamId);
        }

        var batch = await checkpoints.BeginAsync(CheckpointName(reactor), 1, cancellationToken).ConfigureAwait(false);
        await using (batch.ConfigureAwait(false))
        {
            if (unreadable is not null)
            {
                batch.DeadLetter(DeadLetter.For(CheckpointName(reactor), envelope, unreadable.Error, timeProvider.GetUtcNow()));
            }

            batch.Checkpoint(envelope.Position);
            await batch.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The name a reactor's checkpoint is kept under.</summary>
    public static string CheckpointName(Reactor reactor) => $"reactor:{(reactor ?? throw new ArgumentNullException(nameof(reactor))).Name}";

    [LoggerMessage(Level = LogLevel.Error, Message = "Reactor {Reactor} skipped the event at position {Position} ('{EventType}' in stream '{StreamId}'): it cannot be read; it is kept as a dead letter")]
    private static partial void LogUnreadable(ILogger logger, Exception exception, string reactor, long position, string eventType, string streamId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reactor {Reactor} failed (attempt {Attempt}); retrying in {Pause}")]
    private static partial void LogRetrying(ILogger logger, Exception exception, string reactor, int attempt, TimeSpan pause);
}
