using EventSourcing.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace EventSourcing.Hosting;

/// <summary>
/// The store answers: <see cref="IEventReader.ReadHeadPositionAsync"/> within the timeout. Unhealthy otherwise, with the
/// error's message (the store's errors name no personal value).
/// </summary>
internal sealed class StoreHealthCheck(IEventReader events, EventSourcingHealthOptions options, TimeProvider timeProvider) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var head = await EventSourcingHealthChecks.WithinAsync(events.ReadHeadPositionAsync, options.Timeout, timeProvider, cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy("The event store answers.", new Dictionary<string, object> { ["head"] = head });
        }
        catch (Exception exception) when (exception is TimeoutException || (exception is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return HealthCheckResult.Unhealthy($"The event store did not answer within {options.Timeout}.");
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy($"The event store did not answer: {exception.Message}", exception);
        }
    }
}
