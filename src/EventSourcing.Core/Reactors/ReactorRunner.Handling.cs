using System.Diagnostics;
using EventSourcing.Diagnostics;
using EventSourcing.Events;
using EventSourcing.Projections;
using EventSourcing.Storage;
using Microsoft.Extensions.Logging;

namespace EventSourcing.Reactors;

internal sealed partial class ReactorRunner
{
    /// <summary>
    /// Handles one event under the poison policy; false when the reactor must stop at it. A failure of the store itself
    /// is waited out (it does not count as an attempt); any other is tried again, pausing between attempts, up to
    /// <see cref="ReactorOptions.MaxAttempts"/>, then the event is dead-lettered (true) or the reactor stops (false).
    /// </summary>
    private Task<bool> HandleAsync(Reactor reactor, ReactorOptions options, string name, EventEnvelope envelope, PendingCheckpoint checkpoint, ReactorProgress progress, CancellationToken cancellationToken)
    {
        if (envelope.Data is UnreadableEvent unreadable)
        {
            using var activity = FollowerTelemetry.StartHandling("react", Telemetry.Reactor, reactor.Name, envelope);
            // No retry can read it: skip it, loudly, rather than stop every reaction to the events after it.
            LogUnreadable(_logger, unreadable.Error, reactor.Name, envelope.Position, envelope.EventType, envelope.StreamId);
            checkpoint.DeadLetter(DeadLetter.For(name, envelope, unreadable.Error, timeProvider.GetUtcNow()));
            FollowerTelemetry.DeadLettered(Telemetry.Reactor, reactor.Name);
            Telemetry.Fail(activity, unreadable.Error);
            return Task.FromResult(true);
        }

        // The span starts inside the loop's own async method: what it sets as the current activity is undone when that
        // method completes, and never reaches the caller (this method is not async, and would leak it).
        return RetryAsync(
            reactor,
            options,
            envelope,
            progress,
            (Runner: this, Reactor: reactor, Options: options, Name: name, Envelope: envelope, Checkpoint: checkpoint),
            static handling => FollowerTelemetry.StartHandling("react", Telemetry.Reactor, handling.Reactor.Name, handling.Envelope),
            static (handling, cancellationToken) => handling.Reactor.ReactAsync(handling.Envelope, cancellationToken),
            static (handling, activity, exception, attempts) => handling.Runner.Poisoned(
                handling.Reactor, handling.Options, handling.Name, handling.Envelope, handling.Checkpoint, activity, exception, attempts),
            cancellationToken);
    }

    /// <summary>
    /// Handles a whole page with a <see cref="PageReactor"/>: true once it did; false when the page kept failing
    /// (<see cref="ReactorOptions.MaxAttempts"/> times), to be handled event by event, or holds an event that cannot be read.
    /// An outage is waited out and tried again without counting.
    /// </summary>
    private Task<bool> HandlePageAsync(PageReactor reactor, ReactorOptions options, IReadOnlyList<EventEnvelope> events, ReactorProgress progress, CancellationToken cancellationToken)
    {
        if (events.Any(e => e.Data is UnreadableEvent))
        {
            return Task.FromResult(false);
        }

        return RetryAsync(
            reactor,
            options,
            events[0],
            progress,
            (Logger: _logger, Reactor: reactor, Events: events),
            start: null,
            static (page, cancellationToken) => page.Reactor.ReactToPageAsync(page.Events, cancellationToken),
            static (page, _, exception, attempts) =>
            {
                LogPageFailed(page.Logger, exception, page.Reactor.Name, page.Events[0].Position, page.Events[^1].Position, attempts);
                return false;
            },
            cancellationToken);
    }

    /// <summary>
    /// The retry loop of <see cref="HandleAsync"/> and <see cref="HandlePageAsync"/>: runs <paramref name="reactAsync"/>
    /// until it succeeds (true). A failure of the store, or an outage the reactor names, is waited out without counting as
    /// an attempt; any other is tried again, pausing between attempts, up to <see cref="ReactorOptions.MaxAttempts"/>, and
    /// then <paramref name="exhausted"/> (given the span, the last failure and the attempts made) says what to return.
    /// Messages name <paramref name="first"/>, the event or the first of the page; retries are marked on the span
    /// <paramref name="start"/> begins, which ends with the loop.
    /// </summary>
    /// <remarks>
    /// The callbacks are static lambdas over <paramref name="state"/>, and the callers hand over the task of this one async
    /// method: handling an event allocates no closure and no second state machine.
    /// </remarks>
    private async Task<bool> RetryAsync<TState>(
        Reactor reactor,
        ReactorOptions options,
        EventEnvelope first,
        ReactorProgress progress,
        TState state,
        Func<TState, Activity?>? start,
        Func<TState, CancellationToken, Task> reactAsync,
        Func<TState, Activity?, Exception, int, bool> exhausted,
        CancellationToken cancellationToken)
    {
        using (var activity = start?.Invoke(state))
        {
            var (attempt, outage) = (1, 0);
            while (true)
            {
                try
                {
                    await reactAsync(state, cancellationToken).ConfigureAwait(false);
                    progress.Healthy();
                    return true;
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    throw;
                }
                catch (Exception exception) when (ReactorOutages.IsOutage(reactor, exception))
                {
                    progress.Retrying();
                    var pause = FollowerRetry.Pause(++outage);
                    LogAway(exception, reactor.Name, first.Position, pause);
                    await Task.Delay(pause, timeProvider, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception exception)
                {
                    if (attempt >= options.MaxAttempts)
                    {
                        return exhausted(state, activity, exception, attempt);
                    }

                    progress.Retrying();
                    activity?.AddEvent(new ActivityEvent("retry", tags: new ActivityTagsCollection { [Telemetry.Retry] = attempt, [Telemetry.ErrorType] = exception.GetType().FullName }));
                    var pause = FollowerRetry.Pause(attempt);
                    LogAttemptFailed(_logger, exception, reactor.Name, first.Position, first.EventType, attempt, options.MaxAttempts, pause);
                    await Task.Delay(pause, timeProvider, cancellationToken).ConfigureAwait(false);
                    attempt++;
                }
            }
        }
    }

    /// <summary>The event failed <paramref name="attempts"/> times: it becomes a dead letter; true when the reactor goes on past it.</summary>
    private bool Poisoned(Reactor reactor, ReactorOptions options, string name, EventEnvelope envelope, PendingCheckpoint checkpoint, Activity? activity, Exception exception, int attempts)
    {
        var letter = DeadLetter.For(name, envelope, exception, timeProvider.GetUtcNow());
        checkpoint.DeadLetter(letter);
        FollowerTelemetry.DeadLettered(Telemetry.Reactor, reactor.Name);
        Telemetry.Fail(activity, exception);
        var stops = options.OnPoisonEvent == PoisonEventPolicy.Stop;
        LogPoison(_logger, exception, reactor.Name, envelope.Position, envelope.EventType, envelope.StreamId, attempts, stops ? "stops there until it is replayed" : "keeps it as a dead letter and goes on");
        return !stops;
    }

    private void LogAway(Exception exception, string reactor, long position, TimeSpan pause)
    {
        if (exception is EventStoreUnavailableException)
        {
            LogStoreAway(_logger, exception, reactor, position, pause);
        }
        else
        {
            LogTargetAway(_logger, exception, reactor, position, pause);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reactor {Reactor} cannot reach what it sends to at position {Position}; trying again in {Pause}")]
    private static partial void LogTargetAway(ILogger logger, Exception exception, string reactor, long position, TimeSpan pause);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reactor {Reactor} failed {Attempts} times on the page of positions {From} to {To}; handling its events one by one")]
    private static partial void LogPageFailed(ILogger logger, Exception exception, string reactor, long from, long to, int attempts);

    [LoggerMessage(Level = LogLevel.Error, Message = "Reactor {Reactor} skipped the event at position {Position} ('{EventType}' in stream '{StreamId}'): it cannot be read; it is kept as a dead letter")]
    private static partial void LogUnreadable(ILogger logger, Exception exception, string reactor, long position, string eventType, string streamId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Reactor {Reactor} failed {Attempts} times on the event at position {Position} ('{EventType}' in stream '{StreamId}') and {Outcome}")]
    private static partial void LogPoison(ILogger logger, Exception exception, string reactor, long position, string eventType, string streamId, int attempts, string outcome);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reactor {Reactor} failed on the event at position {Position} ('{EventType}'), attempt {Attempt} of {MaxAttempts}; retrying in {Pause}")]
    private static partial void LogAttemptFailed(ILogger logger, Exception exception, string reactor, long position, string eventType, int attempt, int maxAttempts, TimeSpan pause);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reactor {Reactor} cannot reach the store at position {Position}; trying again in {Pause}")]
    private static partial void LogStoreAway(ILogger logger, Exception exception, string reactor, long position, TimeSpan pause);

    /// <summary>What a reactor has handled and not committed yet: the position reached, and dead letters.</summary>
    private sealed class PendingCheckpoint(int generation, long position, ReactorOptions options, TimeProvider timeProvider)
    {
        private readonly List<DeadLetter> _letters = [];
        private long _committed = position;
        private int _handled;
        private long? _since;

        public int Generation { get; } = generation;

        public long Position { get; private set; } = position;

        public IReadOnlyList<DeadLetter> Letters => _letters;

        public bool HasWork => Position > _committed || _letters.Count > 0;

        public int HandledSinceCommit => _handled + _letters.Count;

        public TimeSpan DueIn => _since is { } since ? Max(TimeSpan.Zero, options.CheckpointInterval - timeProvider.GetElapsedTime(since)) : options.CheckpointInterval;

        private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

        public bool Due => _handled >= options.CheckpointEvery || (_since is { } since && timeProvider.GetElapsedTime(since) >= options.CheckpointInterval);

        public void Handled(long position)
        {
            _handled++;
            Reached(position);
        }

        public void Reached(long position)
        {
            if (position > Position)
            {
                Position = position;
                _since ??= timeProvider.GetTimestamp();
            }
        }

        public void DeadLetter(DeadLetter letter)
        {
            _letters.Add(letter);
            _since ??= timeProvider.GetTimestamp();
        }

        public void Committed()
        {
            _committed = Position;
            _letters.Clear();
            _handled = 0;
            _since = null;
        }
    }
}
