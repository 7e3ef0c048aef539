using System.Linq.Expressions;
using System.Runtime.CompilerServices;
using System.Text.Json;
using EventSourcing.Privacy;

namespace EventSourcing.Projections;

/// <summary>
/// Projected views in memory, for the embedded default. Views are kept serialized, as a database would hold them, so a
/// reader never shares an object with the projection and nothing personal is held in plaintext once crypto-shredding
/// applies. Thread-safe; a batch's commit is atomic.
/// </summary>
internal sealed partial class InMemoryProjectionStore : IProjectionStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, ProjectionData> _projections = new(StringComparer.Ordinal);
    private readonly JsonSerializerOptions _json;
    private TaskCompletionSource _changed = NewSignal();

    /// <summary>Creates an empty store that serializes views with <paramref name="json"/>.</summary>
    public InMemoryProjectionStore(JsonSerializerOptions json) => _json = json ?? throw new ArgumentNullException(nameof(json));

    /// <inheritdoc />
    public Task<ProjectionState> ReadStateAsync(string projection, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            var data = Data(projection);
            return Task.FromResult(new ProjectionState(projection, data.Serving, data.Generation(data.Serving).Position,
                data.Building, data.Building is { } building ? data.Generation(building).Position : 0));
        }
    }

    /// <inheritdoc />
    public Task<int> StartGenerationAsync(string projection, bool scratch, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            var data = Data(projection);
            if (!scratch && data.Building is { } building)
            {
                return Task.FromResult(building);
            }

            var generation = data.NextGeneration++;
            data.Generation(generation);
            if (!scratch)
            {
                data.Building = generation;
            }

            return Task.FromResult(generation);
        }
    }

    /// <inheritdoc />
    public Task<IProjectionBatch> BeginAsync(string projection, int generation, CancellationToken cancellationToken = default) =>
        Task.FromResult<IProjectionBatch>(new Batch(this, projection, generation));

    /// <inheritdoc />
    public Task<int> SwapAsync(string projection, int generation, CancellationToken cancellationToken = default)
    {
        int replaced;
        lock (_lock)
        {
            var data = Data(projection);
            _ = data.Generations.TryGetValue(generation, out _) ? 0 : throw new InvalidOperationException($"Projection '{projection}' has no generation {generation}.");
            replaced = data.Serving;
            data.Serving = generation;
            if (data.Building == generation)
            {
                data.Building = null;
            }
        }

        SignalChange();
        return Task.FromResult(replaced);
    }

    /// <inheritdoc />
    public Task DropGenerationAsync(string projection, int generation, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            var data = Data(projection);
            if (data.Serving == generation)
            {
                throw new InvalidOperationException($"Generation {generation} of projection '{projection}' is serving and cannot be dropped.");
            }

            data.Generations.Remove(generation);
            if (data.Building == generation)
            {
                data.Building = null;
            }
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ViewRecord> ReadViewsAsync(string projection, int generation, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await Task.CompletedTask.ConfigureAwait(false);
        StoredRecord[] records;
        lock (_lock)
        {
            records = [.. Data(projection).Generation(generation).Records.Values];
        }

        foreach (var record in records.OrderBy(r => r.Id, StringComparer.Ordinal))
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return ToViewRecord(record);
        }
    }

    /// <inheritdoc />
    public Task<TView?> FindAsync<TView>(string projection, int generation, string id, CancellationToken cancellationToken = default)
        where TView : class
    {
        StoredRecord? record;
        lock (_lock)
        {
            Data(projection).Generation(generation).Records.TryGetValue(id, out record);
        }

        return Task.FromResult(record?.Json is { } json ? JsonSerializer.Deserialize<TView>(json, _json) : null);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<TView>> QueryAsync<TView>(string projection, int generation, Expression<Func<TView, bool>> predicate, CancellationToken cancellationToken = default)
        where TView : class
    {
        PersonalDataQueries.EnsureNoPersonalFields(predicate); // as every store: it cannot be compared where it is stored encrypted
        StoredRecord[] records;
        lock (_lock)
        {
            records = [.. Data(projection).Generation(generation).Records.Values];
        }

        var matches = predicate.Compile();
        IReadOnlyList<TView> views = [.. records
            .Where(r => r.Json is not null)
            .OrderBy(r => r.Id, StringComparer.Ordinal)
            .Select(r => JsonSerializer.Deserialize<TView>(r.Json!, _json)!)
            .Where(matches)];
        return Task.FromResult(views);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<DeadLetter>> ReadDeadLettersAsync(string projection, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return Task.FromResult<IReadOnlyList<DeadLetter>>([.. Data(projection).DeadLetters]);
        }
    }

    /// <inheritdoc />
    public Task DropDeadLettersAsync(string projection, long fromPosition, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            Data(projection).DeadLetters.RemoveAll(letter => letter.Position >= fromPosition);
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task WaitForChangeAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        try
        {
            await Volatile.Read(ref _changed).Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
    }

    /// <summary>The stored JSON of every view, as text (for tests of what is at rest).</summary>
    internal IReadOnlyList<string> ReadAtRest()
    {
        lock (_lock)
        {
            return [.. _projections.Values.SelectMany(p => p.Generations.Values).SelectMany(g => g.Records.Values)
                .Where(r => r.Json is not null).Select(r => System.Text.Encoding.UTF8.GetString(r.Json!))];
        }
    }

    private ViewRecord ToViewRecord(StoredRecord record) =>
        new(record.Id, record.Position, record.Json is null ? null : JsonSerializer.Deserialize(record.Json, record.ViewType!, _json));

    private ProjectionData Data(string projection)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(projection);
        if (!_projections.TryGetValue(projection, out var data))
        {
            _projections[projection] = data = new ProjectionData();
        }

        return data;
    }

    private void SignalChange() => Interlocked.Exchange(ref _changed, NewSignal()).TrySetResult();

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private sealed record StoredRecord(string Id, long Position, Type? ViewType, byte[]? Json);

    private sealed class ProjectionData
    {
        public int Serving { get; set; } = 1;

        public int? Building { get; set; }

        public int NextGeneration { get; set; } = 2;

        public Dictionary<int, GenerationData> Generations { get; } = [];

        public List<DeadLetter> DeadLetters { get; } = [];

        public GenerationData Generation(int generation)
        {
            if (!Generations.TryGetValue(generation, out var data))
            {
                Generations[generation] = data = new GenerationData();
            }

            return data;
        }
    }

    private sealed class GenerationData
    {
        public long Position { get; set; }

        public Dictionary<string, StoredRecord> Records { get; } = new(StringComparer.Ordinal);
    }
}
