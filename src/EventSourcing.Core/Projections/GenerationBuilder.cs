using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using EventSourcing.Diagnostics;
using EventSourcing.Privacy;
using EventSourcing.Storage;

namespace EventSourcing.Projections;

/// <summary>
/// Brings one generation of a projection's views up to the head of the log, in pages: read events after the
/// generation's checkpoint, apply them, commit views and checkpoint together, repeat until a pass finds nothing new.
/// An interrupted build resumes from the last committed page. Used by rebuild, verify and catch-up.
/// </summary>
internal sealed class GenerationBuilder(IEventReader events, IProjectionStore views, TimeProvider timeProvider, int buildPageSize, EventSourcingJson? personalData)
{
    /// <summary>Events per committed page when following the log live.</summary>
    public const int PageSize = 1_000;


    /// <summary>Builds from <paramref name="fromPosition"/> (exclusive) to the head; returns the position reached.</summary>
    public async Task<long> BuildAsync(
        ProjectionRegistration registration,
        int generation,
        long fromPosition,
        PoisonEventPolicy policy,
        IProgress<RebuildProgress>? progress,
        CancellationToken cancellationToken)
    {
        using var read = ProjectionApplier.BeginEventRead(registration.Projection);
        var position = fromPosition;
        var stopwatch = Stopwatch.StartNew();
        var startedAt = position;
        var page = new List<Events.EventEnvelope>(buildPageSize);
        while (true)
        {
            var head = await events.ReadHeadPositionAsync(cancellationToken).ConfigureAwait(false);
            Report(progress, registration.Name, position, head, startedAt, stopwatch.Elapsed);
            if (position >= head)
            {
                return position;
            }

            await foreach (var envelope in ReadAheadAsync(events.ReadAllAsync(position + 1, cancellationToken), buildPageSize, cancellationToken).ConfigureAwait(false))
            {
                page.Add(envelope);
                if (page.Count == buildPageSize)
                {
                    CountRebuilt(registration.Name, page.Count);
                    position = await CommitAsync(registration, generation, page, policy, cancellationToken).ConfigureAwait(false);
                    Report(progress, registration.Name, position, Math.Max(head, position), startedAt, stopwatch.Elapsed);
                }
            }

            if (page.Count > 0)
            {
                CountRebuilt(registration.Name, page.Count);
                position = await CommitAsync(registration, generation, page, policy, cancellationToken).ConfigureAwait(false);
            }
            else if (position < head)
            {
                return position; // the head moved past events this reader cannot see yet; the caller's next pass takes them
            }
        }
    }

    /// <summary>Applies <paramref name="page"/> to the generation and commits; clears the page; returns its last position.</summary>
    public async Task<long> CommitAsync(ProjectionRegistration registration, int generation, List<Events.EventEnvelope> page, PoisonEventPolicy policy, CancellationToken cancellationToken)
    {
        var batch = await views.BeginAsync(registration.Name, generation, cancellationToken).ConfigureAwait(false);
        await using (batch.ConfigureAwait(false))
        {
            await ProjectionApplier.ApplyAsync(registration.Projection, page, batch, policy, timeProvider, personalData, cancellationToken).ConfigureAwait(false);
            await batch.CommitAsync(cancellationToken).ConfigureAwait(false);
        }

        var last = page[^1].Position;
        page.Clear();
        return last;
    }

    /// <summary>
    /// Reads <paramref name="source"/> up to <paramref name="capacity"/> items ahead on another task, so the next page is
    /// read while the current one is applied and committed. Errors of the source surface to the caller as they are.
    /// </summary>
    private static async IAsyncEnumerable<T> ReadAheadAsync<T>(IAsyncEnumerable<T> source, int capacity, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var channel = Channel.CreateBounded<T>(new BoundedChannelOptions(capacity) { SingleReader = true, SingleWriter = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        ExceptionDispatchInfo? failure = null;
        var producer = Task.Run(
            async () =>
            {
                try
                {
                    await foreach (var item in source.WithCancellation(stop.Token).ConfigureAwait(false))
                    {
                        await channel.Writer.WriteAsync(item, stop.Token).ConfigureAwait(false);
                    }
                }
                catch (Exception exception) when (!stop.IsCancellationRequested || exception is not OperationCanceledException)
                {
                    failure = ExceptionDispatchInfo.Capture(exception);
                }
                finally
                {
                    channel.Writer.TryComplete();
                }
            },
            CancellationToken.None);
        try
        {
            while (await channel.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (channel.Reader.TryRead(out var item))
                {
                    yield return item;
                }
            }
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await producer.ConfigureAwait(false);
        }

        failure?.Throw();
    }

    private static void CountRebuilt(string projection, int events)
    {
        if (Telemetry.RebuiltEvents.Enabled)
        {
            Telemetry.RebuiltEvents.Add(events, new KeyValuePair<string, object?>(Telemetry.FollowerName, projection));
        }
    }

    private static void Report(IProgress<RebuildProgress>? progress, string projection, long position, long head, long startedAt, TimeSpan elapsed)
    {
        if (progress is null)
        {
            return;
        }

        var done = position - startedAt;
        var rate = elapsed.TotalSeconds > 0 ? done / elapsed.TotalSeconds : 0;
        TimeSpan? remaining = rate > 0 ? TimeSpan.FromSeconds((head - position) / rate) : null;
        progress.Report(new RebuildProgress(projection, position, head, rate, remaining));
    }
}

/// <summary>How far a rebuild or verification has come.</summary>
/// <param name="Projection">The projection.</param>
/// <param name="Position">The position reached (events done, on a gap-free log).</param>
/// <param name="Head">The head of the log when last looked at (the total).</param>
/// <param name="EventsPerSecond">The rate since this run started.</param>
/// <param name="Remaining">The time left at that rate, when known.</param>
public sealed record RebuildProgress(string Projection, long Position, long Head, double EventsPerSecond, TimeSpan? Remaining);
