using EventSourcing.Projections;
using EventSourcing.Reactors;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace EventSourcing.Hosting;

/// <summary>
/// Every projection and reactor runs: one stopped at a poison event is unhealthy; an async projection or a reactor more
/// than <see cref="EventSourcingHealthOptions.MaxLag"/> events behind is <see cref="EventSourcingHealthOptions.LagStatus"/>;
/// a reactor that no process runs is degraded (the processes standing by take it over). A rebuilding projection is
/// healthy (its serving views stay readable), and so is a reactor another process runs. The data holds each one's status.
/// </summary>
internal sealed class FollowersHealthCheck(ProjectionStatusReader projections, ReactorStatusReader reactors, EventSourcingHealthOptions options, TimeProvider timeProvider) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        IReadOnlyList<ProjectionStatus> statuses;
        try
        {
            statuses = await EventSourcingHealthChecks.WithinAsync(ReadAsync, options.Timeout, timeProvider, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is TimeoutException || (exception is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return HealthCheckResult.Unhealthy($"The status of the projections and reactors could not be read within {options.Timeout}.");
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy($"The status of the projections and reactors could not be read: {exception.Message}", exception);
        }

        var status = HealthStatus.Healthy;
        var findings = new List<string>();
        var data = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var follower in statuses)
        {
            data.TryAdd(follower.Name, follower);
            var (judged, finding) = Judge(follower);
            if (finding is not null)
            {
                findings.Add(finding);
                status = judged < status ? judged : status; // Unhealthy < Degraded < Healthy
            }
        }

        var description = findings.Count == 0
            ? $"{statuses.Count} projections and reactors running."
            : string.Join(" ", findings);
        return new HealthCheckResult(status, description, data: data);
    }

    private async Task<IReadOnlyList<ProjectionStatus>> ReadAsync(CancellationToken cancellationToken) =>
        [.. await projections.ReadAsync(cancellationToken).ConfigureAwait(false), .. await reactors.ReadAsync(cancellationToken).ConfigureAwait(false)];

    private (HealthStatus Status, string? Finding) Judge(ProjectionStatus follower)
    {
        var reactor = follower.Lifecycle == "reactor";
        var kind = reactor ? "reactor" : "projection";
        return follower.State switch
        {
            ProjectionStates.Stopped => (HealthStatus.Unhealthy, $"The {kind} {follower.Name} is stopped{(follower.StoppedAt is { } at ? $" at position {at}" : string.Empty)}."),
            ProjectionStates.Rebuilding or ProjectionStates.Live or ReactorStates.StandingBy => (HealthStatus.Healthy, null),
            ReactorStates.NotRunning => (HealthStatus.Degraded, $"No process runs the reactor {follower.Name}."),
            _ when (reactor || follower.Lifecycle == "async") && follower.Lag > options.MaxLag =>
                (options.LagStatus, $"The {kind} {follower.Name} is {follower.Lag} events behind (more than {options.MaxLag})."),
            _ => (HealthStatus.Healthy, null),
        };
    }
}
