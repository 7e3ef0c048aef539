using System.Security.Cryptography;
using System.Text.Json;
using EventSourcing.Diagnostics;
using EventSourcing.Privacy;
using EventSourcing.Storage;

namespace EventSourcing.Projections;

/// <summary>
/// Checks that a projection is deterministic: rebuilds it into a scratch generation and compares each view's
/// canonical hash (SHA-256 of its JSON) with the serving view at the same position. Views that move while being
/// compared are compared again once both sides reach the same position.
/// </summary>
public sealed class ProjectionVerifier
{
    private const int Rounds = 5;
    private readonly ProjectionCatalog _catalog;
    private readonly IProjectionStore _views;
    private readonly GenerationBuilder _builder;
    private readonly JsonSerializerOptions _json;
    private readonly TimeProvider _timeProvider;

    /// <summary>
    /// Creates the verifier; <paramref name="json"/> defines the canonical form of a view. Give the plain options, without
    /// crypto-shredding: encryption draws a fresh nonce per value, so ciphertext never hashes the same twice. The hashes
    /// are computed in memory and never stored. <paramref name="builder"/>, the container's, builds the scratch generation
    /// (scratch views of subjects forgotten during the verification are written erased).
    /// </summary>
    internal ProjectionVerifier(ProjectionCatalog catalog, IProjectionStore views, GenerationBuilder builder, JsonSerializerOptions json, TimeProvider? timeProvider = null)
    {
        _catalog = catalog ?? throw new ArgumentNullException(nameof(catalog));
        _views = views ?? throw new ArgumentNullException(nameof(views));
        _builder = builder ?? throw new ArgumentNullException(nameof(builder));
        _json = json ?? throw new ArgumentNullException(nameof(json));
        _timeProvider = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Verifies <paramref name="projection"/>; the scratch generation is dropped afterwards.</summary>
    /// <exception cref="UnknownProjectionException">No projection has that name.</exception>
    /// <exception cref="NotSupportedException">The projection is live (<see cref="ProjectionLifecycle.Live"/>): no stored views to compare.</exception>
    public async Task<VerifyResult> VerifyAsync(string projection, IProgress<RebuildProgress>? progress, CancellationToken cancellationToken = default)
    {
        var registration = _catalog.Get(projection);
        if (registration.Lifecycle == ProjectionLifecycle.Live)
        {
            throw new NotSupportedException($"Projection '{projection}' is live: its views are folded on read, not stored, so there is nothing to verify.");
        }

        using var activity = Telemetry.Start($"verify {projection}");
        activity?.SetTag(Telemetry.FollowerName, projection);
        var scratch = await _views.StartGenerationAsync(projection, scratch: true, cancellationToken).ConfigureAwait(false);
        try
        {
            var position = 0L;
            Comparison comparison = default!;
            for (var round = 0; round < Rounds; round++)
            {
                position = await _builder.BuildAsync(registration, scratch, position, registration.OnPoisonEventInRebuild, progress, cancellationToken).ConfigureAwait(false);
                var state = await _views.ReadStateAsync(projection, cancellationToken).ConfigureAwait(false);
                if (state.ServingPosition < position)
                {
                    await WaitForServingAsync(projection, position, cancellationToken).ConfigureAwait(false);
                    state = await _views.ReadStateAsync(projection, cancellationToken).ConfigureAwait(false);
                }

                comparison = await CompareAsync(projection, state.ServingGeneration, scratch, cancellationToken).ConfigureAwait(false);
                if (comparison.Unsettled == 0)
                {
                    break;
                }
            }

            return new VerifyResult(projection, comparison.Differing.Count == 0 && comparison.Unsettled == 0, comparison.Compared, comparison.Differing, comparison.Hash);
        }
        finally
        {
            await _views.DropGenerationAsync(projection, scratch, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>The canonical hash of the serving views of <paramref name="projection"/>: ids and view hashes, in id order.</summary>
    public async Task<string> HashServingAsync(string projection, CancellationToken cancellationToken = default)
    {
        var state = await _views.ReadStateAsync(projection, cancellationToken).ConfigureAwait(false);
        using var all = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await foreach (var record in _views.ReadViewsAsync(projection, state.ServingGeneration, cancellationToken).ConfigureAwait(false))
        {
            all.AppendData(System.Text.Encoding.UTF8.GetBytes($"{record.Id}={Hash(record.View)};"));
        }

        return Convert.ToHexString(all.GetHashAndReset());
    }

    /// <summary>The canonical hash of one view: SHA-256 of its JSON, or of nothing for a deleted view.</summary>
    internal string Hash(object? view) =>
        view is null ? "deleted" : Convert.ToHexString(SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(view, view.GetType(), _json)));

    private async Task WaitForServingAsync(string projection, long position, CancellationToken cancellationToken)
    {
        var deadline = _timeProvider.GetUtcNow().AddSeconds(30);
        while (_timeProvider.GetUtcNow() < deadline)
        {
            if ((await _views.ReadStateAsync(projection, cancellationToken).ConfigureAwait(false)).ServingPosition >= position)
            {
                return;
            }

            await _views.WaitForChangeAsync(TimeSpan.FromMilliseconds(200), cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<Comparison> CompareAsync(string projection, int serving, int scratch, CancellationToken cancellationToken)
    {
        var live = new Dictionary<string, ViewRecord>(StringComparer.Ordinal);
        await foreach (var record in _views.ReadViewsAsync(projection, serving, cancellationToken).ConfigureAwait(false))
        {
            live[record.Id] = record;
        }

        var rebuilt = new Dictionary<string, ViewRecord>(StringComparer.Ordinal);
        await foreach (var record in _views.ReadViewsAsync(projection, scratch, cancellationToken).ConfigureAwait(false))
        {
            rebuilt[record.Id] = record;
        }

        var differing = new List<string>();
        var unsettled = 0;
        using var all = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var id in live.Keys.Union(rebuilt.Keys).Order(StringComparer.Ordinal))
        {
            live.TryGetValue(id, out var left);
            rebuilt.TryGetValue(id, out var right);
            if (left is not null && right is not null && left.Position != right.Position)
            {
                unsettled++; // one side has events the other has not reached yet
                continue;
            }

            var rebuiltHash = Hash(right?.View);
            all.AppendData(System.Text.Encoding.UTF8.GetBytes($"{id}={rebuiltHash};"));
            if (Hash(left?.View) != rebuiltHash)
            {
                differing.Add(id);
            }
        }

        return new Comparison(live.Count, differing, unsettled, Convert.ToHexString(all.GetHashAndReset()));
    }

    private sealed record Comparison(int Compared, IReadOnlyList<string> Differing, int Unsettled, string Hash);
}

/// <summary>The outcome of a verification.</summary>
/// <param name="Projection">The projection.</param>
/// <param name="Equal">Whether every view equals its rebuilt twin.</param>
/// <param name="Compared">How many serving views were compared.</param>
/// <param name="DifferingIds">The ids of the views that differ, in id order.</param>
/// <param name="Hash">The canonical hash of the rebuilt views (ids and view hashes, in id order).</param>
public sealed record VerifyResult(string Projection, bool Equal, int Compared, IReadOnlyList<string> DifferingIds, string Hash);
