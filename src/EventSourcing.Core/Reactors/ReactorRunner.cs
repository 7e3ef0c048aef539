using EventSourcing.Events;
using EventSourcing.Projections;
using EventSourcing.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EventSourcing.Reactors;

/// <summary>
/// Runs the registered reactors: each follows the log from its checkpoint (kept in the projection store, as generation 1
/// of a view-less projection named after it), handles events one by one and moves the checkpoint after each. A failing
/// event is retried with a growing pause; the reactor never skips an event.
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
        var failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var state = await checkpoints.ReadStateAsync(CheckpointName(reactor), cancellationToken).ConfigureAwait(false);
                await foreach (var envelope in events.SubscribeAllAsync(state.ServingPosition + 1, cancellationToken).ConfigureAwait(false))
                {
                    await reactor.ReactAsync(envelope, cancellationToken).ConfigureAwait(false);
                    await SaveCheckpointAsync(reactor, envelope, cancellationToken).ConfigureAwait(false);
                    failures = 0;
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception)
            {
                failures++;
                LogRetrying(_logger, exception, reactor.Name, failures);
                var pause = TimeSpan.FromMilliseconds(Math.Min(100 * Math.Pow(2, Math.Min(failures, 10)), 30_000));
                await Task.Delay(pause, timeProvider, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    private async Task SaveCheckpointAsync(Reactor reactor, EventEnvelope envelope, CancellationToken cancellationToken)
    {
        var batch = await checkpoints.BeginAsync(CheckpointName(reactor), 1, cancellationToken).ConfigureAwait(false);
        await using (batch.ConfigureAwait(false))
        {
            batch.Checkpoint(envelope.Position);
            await batch.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The name a reactor's checkpoint is kept under.</summary>
    public static string CheckpointName(Reactor reactor) => $"reactor:{(reactor ?? throw new ArgumentNullException(nameof(reactor))).Name}";

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reactor {Reactor} failed on an event (failure {Failures} in a row); retrying it")]
    private static partial void LogRetrying(ILogger logger, Exception exception, string reactor, int failures);
}
