using EventSourcing.Commands;
using EventSourcing.Events;
using EventSourcing.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;

namespace EventSourcing.Deciders;

/// <summary>
/// Handles a command with a <see cref="Decider{TCommand, TEvent, TState}"/>: load the stream, fold it, decide,
/// and append with the version loaded. On a concurrency conflict it reloads and decides again, a bounded number
/// of times (<see cref="CommandHandlingOptions"/>), then lets the <see cref="ConcurrencyException"/> through.
/// A command whose id already appears in the stream's metadata is not decided again: its first result is returned.
/// </summary>
public sealed partial class DeciderHandler<TCommand, TEvent, TState>
    where TCommand : notnull
    where TEvent : notnull
{
    private readonly Decider<TCommand, TEvent, TState> _decider;
    private readonly IEventStore _store;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline _retry;
    private readonly ISnapshotStore? _snapshots;
    private readonly int _snapshotEvery;

    /// <summary>Creates the handler.</summary>
    public DeciderHandler(
        Decider<TCommand, TEvent, TState> decider,
        IEventStore store,
        IOptions<CommandHandlingOptions>? options = null,
        ILogger<DeciderHandler<TCommand, TEvent, TState>>? logger = null,
        TimeProvider? timeProvider = null,
        ISnapshotStore? snapshots = null)
    {
        _decider = decider ?? throw new ArgumentNullException(nameof(decider));
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        var settings = options?.Value ?? new CommandHandlingOptions();
        _retry = BuildRetry(settings, timeProvider ?? TimeProvider.System);
        ArgumentOutOfRangeException.ThrowIfNegative(settings.SnapshotEvery);
        _snapshotEvery = settings.SnapshotEvery;
        _snapshots = _snapshotEvery > 0 ? snapshots ?? throw new ArgumentNullException(nameof(snapshots), "SnapshotEvery is set but there is no snapshot store.") : null;
    }

    /// <summary>Handles <paramref name="command"/> on <paramref name="streamId"/>; a command implementing <see cref="IIdempotentCommand"/> carries its id into the metadata.</summary>
    public Task<CommandResult> HandleAsync(string streamId, TCommand command, CancellationToken cancellationToken = default) =>
        HandleAsync(streamId, command, CommandMetadata.Of(command, EventMetadata.Empty), cancellationToken);

    /// <summary>Handles <paramref name="command"/> on <paramref name="streamId"/>, stamping the appended events with <paramref name="metadata"/>.</summary>
    /// <exception cref="DomainException">The decider refused the command; nothing was stored.</exception>
    /// <exception cref="ConcurrencyException">Conflicts went on after every retry.</exception>
    public Task<CommandResult> HandleAsync(string streamId, TCommand command, EventMetadata metadata, CancellationToken cancellationToken = default) =>
        HandleAsync(streamId, command, metadata, ExpectedVersion.Any, cancellationToken);

    /// <summary>
    /// Handles <paramref name="command"/> only if the stream is at <paramref name="expected"/> (an HTTP <c>If-Match</c>):
    /// otherwise <see cref="UnexpectedStreamVersionException"/>, without retrying.
    /// </summary>
    public async Task<CommandResult> HandleAsync(string streamId, TCommand command, EventMetadata metadata, ExpectedVersion expected, CancellationToken cancellationToken = default)
    {
        AppendGuard.StreamId(streamId);
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(metadata);
        var attempt = new Attempt(this, streamId, command, metadata, expected);
        return await _retry.ExecuteAsync(
            static (attempt, token) => new ValueTask<CommandResult>(attempt.Handler.DecideAndAppendAsync(attempt, token)),
            attempt,
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The stream's current state folded by the decider, with its version and the position of its last event (from the
    /// latest snapshot on, when snapshots are kept). A stream with no events is at the decider's initial state, version 0.
    /// </summary>
    /// <exception cref="InvalidOperationException">The stream holds an event that is not one of the decider's.</exception>
    public async Task<StreamState<TState>> LoadAsync(string streamId, CancellationToken cancellationToken = default)
    {
        AppendGuard.StreamId(streamId);
        var loaded = await LoadStreamAsync(streamId, commandId: null, cancellationToken).ConfigureAwait(false);
        return new StreamState<TState>(streamId, loaded.State, loaded.Version, loaded.Position);
    }

    private async Task<Loaded> LoadStreamAsync(string streamId, Guid? commandId, CancellationToken cancellationToken)
    {
        var loaded = new Loaded { State = _decider.Initial };
        if (_snapshots is not null && await _snapshots.LoadAsync<TState>(streamId, cancellationToken).ConfigureAwait(false) is { } snapshot)
        {
            (loaded.State, loaded.Version, loaded.Position) = (snapshot.State, snapshot.Version, snapshot.Position);
        }

        loaded.SnapshotVersion = loaded.Version;
        await foreach (var envelope in _store.ReadStreamAsync(streamId, loaded.Version + 1, cancellationToken).ConfigureAwait(false))
        {
            if (envelope.Data is not TEvent @event)
            {
                throw new InvalidOperationException($"Stream '{streamId}' holds an event of type '{envelope.EventType}' that is not a {typeof(TEvent).Name}.");
            }

            loaded.State = _decider.Evolve(loaded.State, @event);
            (loaded.Version, loaded.Position) = (envelope.StreamVersion, envelope.Position);
            if (commandId is not null && envelope.Metadata.CommandId == commandId)
            {
                (loaded.AppliedVersion, loaded.AppliedPosition, loaded.Applied) = (loaded.Version, loaded.Position, loaded.Applied + 1);
            }
        }

        return loaded;
    }

    private async Task<CommandResult> DecideAndAppendAsync(Attempt attempt, CancellationToken cancellationToken)
    {
        var (_, streamId, command, metadata, expected) = attempt;
        var loaded = await LoadStreamAsync(streamId, metadata.CommandId, cancellationToken).ConfigureAwait(false);
        var (state, version, position, snapshotVersion) = (loaded.State, loaded.Version, loaded.Position, loaded.SnapshotVersion);
        var (appliedVersion, appliedPosition, applied) = (loaded.AppliedVersion, loaded.AppliedPosition, loaded.Applied);

        if (applied > 0)
        {
            LogAlreadyApplied(_logger, metadata.CommandId, streamId);
            return new CommandResult(streamId, appliedVersion, appliedPosition, applied) { AlreadyApplied = true };
        }

        if (!expected.IsSatisfiedBy(version))
        {
            throw new UnexpectedStreamVersionException(streamId, expected, version);
        }

        var events = _decider.Decide(command, state);
        if (events.Count == 0)
        {
            return new CommandResult(streamId, version, position, 0);
        }

        var toAppend = new object[events.Count];
        for (var i = 0; i < toAppend.Length; i++)
        {
            toAppend[i] = events[i];
        }

        var result = await _store.AppendAsync(streamId, ExpectedVersion.Exact(version), toAppend, metadata, cancellationToken).ConfigureAwait(false);
        if (_snapshots is not null && !result.AlreadyApplied && result.StreamVersion / _snapshotEvery > snapshotVersion / _snapshotEvery)
        {
            await SaveSnapshotAsync(streamId, events.Aggregate(state, _decider.Evolve), result, cancellationToken).ConfigureAwait(false);
        }

        return new CommandResult(streamId, result.StreamVersion, result.Position, toAppend.Length) { AlreadyApplied = result.AlreadyApplied };
    }

    private async Task SaveSnapshotAsync(string streamId, TState state, AppendResult result, CancellationToken cancellationToken)
    {
        try
        {
            await _snapshots!.SaveAsync(streamId, new Snapshot<TState>(state, result.StreamVersion, result.Position), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            LogSnapshotFailed(_logger, exception, streamId); // the command succeeded; the next snapshot will come
        }
    }

    private ResiliencePipeline BuildRetry(CommandHandlingOptions options, TimeProvider timeProvider)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(options.MaxConflictRetries);
        var builder = new ResiliencePipelineBuilder { TimeProvider = timeProvider };
        if (options.MaxConflictRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<ConcurrencyException>(),
                MaxRetryAttempts = options.MaxConflictRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.ConflictRetryDelay,
                MaxDelay = options.MaxConflictRetryDelay,
                OnRetry = arguments =>
                {
                    if (arguments.Outcome.Exception is ConcurrencyException conflict)
                    {
                        LogConflict(_logger, conflict.StreamId, arguments.AttemptNumber + 1, options.MaxConflictRetries);
                    }

                    return default;
                },
            });
        }

        return builder.Build();
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Conflict on stream {StreamId}; deciding again (retry {Retry} of {MaxRetries})")]
    private static partial void LogConflict(ILogger logger, string streamId, int retry, int maxRetries);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Command {CommandId} is already applied to stream {StreamId}; returning its first result")]
    private static partial void LogAlreadyApplied(ILogger logger, Guid? commandId, string streamId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Keeping a snapshot of stream {StreamId} failed")]
    private static partial void LogSnapshotFailed(ILogger logger, Exception exception, string streamId);

    private struct Loaded
    {
        public TState State;
        public long Version;
        public long Position;
        public long SnapshotVersion;
        public long AppliedVersion;
        public long AppliedPosition;
        public int Applied;
    }

    private sealed record Attempt(DeciderHandler<TCommand, TEvent, TState> Handler, string StreamId, TCommand Command, EventMetadata Metadata, ExpectedVersion Expected);
}
