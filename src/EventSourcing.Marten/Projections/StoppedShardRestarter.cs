using JasperFx.Events.Daemon;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EventSourcing.Marten.Projections;

/// <summary>
/// Starts again, from its committed progression, a projection shard that Marten's daemon stopped because another
/// process had moved its progression (<see cref="ProgressionProgressOutOfOrderException"/>).
/// </summary>
/// <remarks>
/// <para>
/// The daemon commits a batch of views with its progression in one transaction, and the progression's update is a
/// compare-and-set on where the batch started. When a process that led the projections stalls (paused, or a long
/// garbage collection), the others take the lead after its lock's session ends; the stalled one, once it runs again,
/// may still commit the batch it had in hand before it notices. The new leader's next batch then finds the progression
/// moved: its transaction is rolled back (nothing is applied twice) and Marten stops the shard for good, on the one
/// process that leads. The views would stand still while the log grows.
/// </para>
/// <para>
/// This service removes such a stopped shard from the daemon. Marten's coordinator starts a shard it does not run
/// only while this process holds the projections' lock, and the shard starts from the progression as committed: the
/// events the other process applied are not applied again, and none after them is skipped. A process that no longer
/// leads leaves the shard stopped once its coordinator knows the lock is gone (Marten watches the lock's connection);
/// should it start the shard before that, its first batch finds the progression moved in the same way and is rolled back.
/// </para>
/// </remarks>
internal sealed partial class StoppedShardRestarter(global::Marten.Events.Daemon.Coordination.IProjectionCoordinator coordinator, ILogger<StoppedShardRestarter> logger, TimeProvider timeProvider) : BackgroundService
{
    /// <summary>How often the daemon's shards are looked at: Marten's coordinator polls its lock as often.</summary>
    internal static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                RestartStopped();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The host stops.
        }
    }

    /// <summary>Removes from the daemon every shard stopped by a moved progression; the coordinator starts it again while it leads.</summary>
    internal int RestartStopped()
    {
        IProjectionDaemon daemon;
        try
        {
            daemon = coordinator.DaemonForMainDatabase();
        }
        catch (Exception exception) when (exception is InvalidOperationException or ObjectDisposedException)
        {
            return 0; // the daemon is not running (yet, or any more)
        }

        var restarted = 0;
        foreach (var agent in daemon.CurrentAgents())
        {
            if (agent is { Status: JasperFx.AgentStatus.Stopped, Failure.Category: ShardFailureCategory.ProgressionOutOfOrder })
            {
                daemon.EjectPausedShard(agent.Name.Identity);
                LogRestarting(logger, agent.Name.Identity, agent.Position);
                restarted++;
            }
        }

        return restarted;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Projection shard {Shard} was stopped at {Position}: another process moved its progression (a process that led the projections committed a batch after it lost the lead). It starts again from its committed progression while this process leads the projections")]
    private static partial void LogRestarting(ILogger logger, string shard, long position);
}
