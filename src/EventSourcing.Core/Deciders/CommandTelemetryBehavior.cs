using System.Diagnostics;
using EventSourcing.Commands;
using EventSourcing.Diagnostics;
using EventSourcing.Storage;
using Mediator;

namespace EventSourcing.Deciders;

/// <summary>
/// The first step of the command pipeline: a span around the whole command (<c>command {type}</c>) and its duration
/// and outcome (<c>eventsourcing.command.duration</c>): <c>succeeded</c>, <c>replayed</c>, <c>invalid</c>, <c>rejected</c>,
/// <c>conflict</c>, <c>version_mismatch</c>, <c>key_reused</c>, <c>unavailable</c>, <c>cancelled</c> or <c>failed</c>.
/// With nothing listening it only checks that.
/// </summary>
internal sealed class CommandTelemetryBehavior<TMessage, TResponse> : IPipelineBehavior<TMessage, TResponse>
    where TMessage : IMessage
{
    private static readonly string SpanName = $"command {typeof(TMessage).Name}";

    /// <inheritdoc />
    public ValueTask<TResponse> Handle(TMessage message, MessageHandlerDelegate<TMessage, TResponse> next, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(next);
        return Telemetry.CommandDuration.Enabled || EventSourcingDiagnostics.Source.HasListeners()
            ? ObserveAsync(message, next, cancellationToken)
            : next(message, cancellationToken);
    }

    private static async ValueTask<TResponse> ObserveAsync(TMessage message, MessageHandlerDelegate<TMessage, TResponse> next, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        using var activity = Telemetry.Start(SpanName);
        activity?.SetTag(Telemetry.CommandType, typeof(TMessage).Name);
        var outcome = CommandOutcome.Begin();
        var name = "failed";
        try
        {
            var response = await next(message, cancellationToken).ConfigureAwait(false);
            name = outcome.Replayed ? "replayed" : "succeeded";
            return response;
        }
        catch (Exception exception)
        {
            name = OutcomeOf(exception);
            if (name is "failed" or "unavailable")
            {
                Telemetry.Fail(activity, exception);
            }
            else
            {
                activity?.SetTag(Telemetry.ErrorType, exception.GetType().FullName); // an answer, not a fault of the system
            }

            throw;
        }
        finally
        {
            activity?.SetTag(Telemetry.CommandOutcome, name);
            if (Telemetry.CommandDuration.Enabled)
            {
                Telemetry.CommandDuration.Record(
                    Stopwatch.GetElapsedTime(started).TotalSeconds,
                    new KeyValuePair<string, object?>(Telemetry.CommandType, typeof(TMessage).Name),
                    new KeyValuePair<string, object?>(Telemetry.CommandOutcome, name));
            }
        }
    }

    /// <summary>What an exception out of the pipeline says about the command.</summary>
    internal static string OutcomeOf(Exception exception) => exception switch
    {
        CommandValidationException => "invalid",
        DomainException => "rejected",
        UnexpectedStreamVersionException => "version_mismatch",
        ConcurrencyException => "conflict",
        IdempotencyKeyReusedException => "key_reused",
        EventStoreUnavailableException => "unavailable",
        OperationCanceledException => "cancelled",
        _ => "failed",
    };
}
