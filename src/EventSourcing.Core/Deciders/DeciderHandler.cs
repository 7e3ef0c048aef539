using System.Diagnostics;
using EventSourcing.Commands;
using EventSourcing.Diagnostics;
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
/// <para>
/// The folded states of the streams handled last are kept in memory (<see cref="CommandHandlingOptions.CachedStreams"/>),
/// so a command reads and folds only the events after the version cached; the append's expected version stays the
/// arbiter, and a conflict drops the entry it was decided on. A state is not kept when its type, or the type of an event
/// folded into it, holds <see cref="Privacy.PersonalDataAttribute"/> data: a forget then takes effect on the next load.
/// </para>
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
    private readonly StateCache<TState>? _cache;

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
        ArgumentOutOfRangeException.ThrowIfNegative(settings.CachedStreams);
        _cache = settings.CachedStreams > 0 ? new StateCache<TState>(settings.CachedStreams) : null;
    }

    /// <summary>How many streams' states are cached now (for tests).</summary>
    internal int CachedStreamCount => _cache?.Count ?? 0;

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
        return await _retry.ExecuteAsync(
            static (attempt, token) => attempt.Handler.DecideAndAppendAsync(attempt.StreamId, attempt.Command, attempt.Metadata, attempt.Expected, token),
            (Handler: this, StreamId: streamId, Command: command, Metadata: metadata, Expected: expected),
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

    private async ValueTask<Loaded> LoadStreamAsync(string streamId, Guid? commandId, CancellationToken cancellationToken)
    {
        var loaded = new Loaded { State = _decider.Initial, Cacheable = _cache is not null && MayCache(_decider.Initial) };
        if (_cache is not null && _cache.TryGet(streamId, out var cached))
        {
            (loaded.State, loaded.Version, loaded.Position, loaded.SnapshotVersion) = (cached.State, cached.Version, cached.Position, cached.SnapshotVersion);
            loaded.Cached = cached;
        }
        else
        {
            if (_snapshots is not null && await _snapshots.LoadAsync<TState>(streamId, cancellationToken).ConfigureAwait(false) is { } snapshot)
            {
                (loaded.State, loaded.Version, loaded.Position) = (snapshot.State, snapshot.Version, snapshot.Position);
                loaded.Cacheable &= MayCache(snapshot.State);
            }

            loaded.SnapshotVersion = loaded.Version;
        }

        // A command with an id looks for it in every event after the snapshot; the cached state saves only their fold.
        var from = commandId is null ? loaded.Version + 1 : loaded.SnapshotVersion + 1;
        var folded = loaded.Version;
        if (_store is InMemoryEventStore memory)
        {
            foreach (var envelope in memory.ReadStreamNow(streamId, from, cancellationToken))
            {
                Fold(ref loaded, envelope, streamId, commandId);
            }
        }
        else
        {
            await foreach (var envelope in _store.ReadStreamAsync(streamId, from, cancellationToken).ConfigureAwait(false))
            {
                Fold(ref loaded, envelope, streamId, commandId);
            }
        }

        if (loaded.Version > folded && loaded.Cacheable)
        {
            loaded.Cached = new CachedState<TState>(loaded.State, loaded.Version, loaded.Position, loaded.SnapshotVersion);
            _cache!.Offer(streamId, loaded.Cached);
        }

        return loaded;
    }

    private void Fold(ref Loaded loaded, EventEnvelope envelope, string streamId, Guid? commandId)
    {
        if (commandId is not null && envelope.Metadata.CommandId == commandId)
        {
            (loaded.AppliedVersion, loaded.AppliedPosition, loaded.Applied) = (envelope.StreamVersion, envelope.Position, loaded.Applied + 1);
        }

        if (envelope.StreamVersion <= loaded.Version)
        {
            return; // folded into the cached state already
        }

        if (envelope.Data is not TEvent @event)
        {
            throw new InvalidOperationException($"Stream '{streamId}' holds an event of type '{envelope.EventType}' that is not a {typeof(TEvent).Name}.");
        }

        loaded.State = _decider.Evolve(loaded.State, @event);
        (loaded.Version, loaded.Position) = (envelope.StreamVersion, envelope.Position);
        loaded.Cacheable &= MayCache(@event);
    }

    private async ValueTask<CommandResult> DecideAndAppendAsync(string streamId, TCommand command, EventMetadata metadata, ExpectedVersion expected, CancellationToken cancellationToken)
    {
        var deciding = Telemetry.Start("decide");
        Loaded loaded;
        IReadOnlyList<TEvent> events;
        try
        {
            if (deciding is not null)
            {
                deciding.DisplayName = $"decide {command.GetType().Name}";
                deciding.SetTag(Telemetry.StreamCategory, Telemetry.CategoryOf(streamId));
            }

            loaded = await LoadStreamAsync(streamId, metadata.CommandId, cancellationToken).ConfigureAwait(false);
            if (loaded.Applied > 0)
            {
                LogAlreadyApplied(_logger, metadata.CommandId, streamId);
                deciding?.SetTag(Telemetry.Replayed, true);
                return new CommandResult(streamId, loaded.AppliedVersion, loaded.AppliedPosition, loaded.Applied) { AlreadyApplied = true };
            }

            if (!expected.IsSatisfiedBy(loaded.Version))
            {
                throw new UnexpectedStreamVersionException(streamId, expected, loaded.Version);
            }

            events = _decider.Decide(command, loaded.State);
            deciding?.SetTag(Telemetry.EventCount, events.Count);
        }
        catch (Exception exception) when (deciding is not null)
        {
            deciding.SetTag(Telemetry.ErrorType, exception.GetType().FullName);
            throw;
        }
        finally
        {
            deciding?.Dispose();
        }

        var (version, position) = (loaded.Version, loaded.Position);
        if (events.Count == 0)
        {
            return new CommandResult(streamId, version, position, 0);
        }

        AppendResult result;
        try
        {
            result = await _store.AppendAsync(streamId, ExpectedVersion.Exact(version), AsObjects(events), metadata, cancellationToken).ConfigureAwait(false);
        }
        catch (ConcurrencyException conflict)
        {
            if (loaded.Cached is { } stale)
            {
                _cache!.Drop(streamId, stale);
            }

            CountConflict(conflict, command);
            throw;
        }

        if (!result.AlreadyApplied)
        {
            await KeepStateAsync(streamId, loaded, events, result, cancellationToken).ConfigureAwait(false);
        }

        return new CommandResult(streamId, result.StreamVersion, result.Position, events.Count) { AlreadyApplied = result.AlreadyApplied };
    }

    /// <summary>A conflict met by an append: counted, and an event on the command's span.</summary>
    private static void CountConflict(ConcurrencyException conflict, TCommand command)
    {
        if (Telemetry.Conflicts.Enabled)
        {
            Telemetry.Conflicts.Add(1, new KeyValuePair<string, object?>(Telemetry.CommandType, command.GetType().Name));
        }

        Activity.Current?.AddEvent(new ActivityEvent("conflict", tags: new ActivityTagsCollection { [Telemetry.StreamCategory] = Telemetry.CategoryOf(conflict.StreamId) }));
    }

    /// <summary>The events as the store takes them: the list itself when its events are objects already (no copy).</summary>
    private static IReadOnlyList<object> AsObjects(IReadOnlyList<TEvent> events)
    {
        if (events is IReadOnlyList<object> objects)
        {
            return objects;
        }

        var copy = new object[events.Count];
        for (var i = 0; i < copy.Length; i++)
        {
            copy[i] = events[i];
        }

        return copy;
    }

    /// <summary>After an append: the state it leads to, kept as a snapshot when one is due and in the cache.</summary>
    private async ValueTask KeepStateAsync(string streamId, Loaded loaded, IReadOnlyList<TEvent> events, AppendResult result, CancellationToken cancellationToken)
    {
        var snapshotDue = _snapshots is not null && result.StreamVersion / _snapshotEvery > loaded.SnapshotVersion / _snapshotEvery;
        var cacheable = loaded.Cacheable && result.StreamVersion == loaded.Version + events.Count;
        if (!snapshotDue && !cacheable)
        {
            return;
        }

        var state = loaded.State;
        for (var i = 0; i < events.Count; i++)
        {
            state = _decider.Evolve(state, events[i]);
            cacheable &= MayCache(events[i]);
        }

        var snapshotVersion = loaded.SnapshotVersion;
        if (snapshotDue && await SaveSnapshotAsync(streamId, state, result, cancellationToken).ConfigureAwait(false))
        {
            snapshotVersion = result.StreamVersion;
        }

        if (cacheable && MayCache(state))
        {
            _cache!.Offer(streamId, new CachedState<TState>(state, result.StreamVersion, result.Position, snapshotVersion));
        }
    }

    /// <summary>Whether a state or an event may be kept in the cache: its type holds no personal data.</summary>
    private static bool MayCache<T>(T value) =>
        typeof(T).IsValueType ? !Privacy.PersonalDataJson.HoldsPersonalData(typeof(T)) : value is null || !Privacy.PersonalDataJson.HoldsPersonalData(value.GetType());

    private async Task<bool> SaveSnapshotAsync(string streamId, TState state, AppendResult result, CancellationToken cancellationToken)
    {
        try
        {
            await _snapshots!.SaveAsync(streamId, new Snapshot<TState>(state, result.StreamVersion, result.Position), cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            LogSnapshotFailed(_logger, exception, streamId); // the command succeeded; the next snapshot will come
            return false;
        }
    }

    /// <summary>Retries a decision on a concurrency conflict, as <paramref name="options"/> say (none when MaxConflictRetries is 0).</summary>
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
        public CachedState<TState>? Cached;
        public bool Cacheable;
        public long Version;
        public long Position;
        public long SnapshotVersion;
        public long AppliedVersion;
        public long AppliedPosition;
        public int Applied;
    }
}
