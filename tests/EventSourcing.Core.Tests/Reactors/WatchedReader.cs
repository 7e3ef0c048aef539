using System.Runtime.CompilerServices;
using EventSourcing.Events;
using EventSourcing.Storage;

namespace EventSourcing.Core.Tests.Reactors;

/// <summary>The log as the runners read it, watched: how far the pages they were given reach, so a test can wait until a follower has read an append.</summary>
internal sealed class WatchedReader(IEventReader inner) : IEventReader
{
    private long _through;
    private TaskCompletionSource _paged = NewSignal();

    /// <summary>Completes once a follower was given a page reaching <paramref name="position"/>.</summary>
    public async Task ReadThroughAsync(long position, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        while (true)
        {
            var paged = Volatile.Read(ref _paged).Task;
            if (Interlocked.Read(ref _through) >= position)
            {
                return;
            }

            await paged.WaitAsync(deadline.Token);
        }
    }

    public IAsyncEnumerable<EventEnvelope> ReadStreamAsync(string streamId, long fromVersion, CancellationToken cancellationToken) => inner.ReadStreamAsync(streamId, fromVersion, cancellationToken);

    public IAsyncEnumerable<EventEnvelope> ReadAllAsync(long fromPosition, CancellationToken cancellationToken) => inner.ReadAllAsync(fromPosition, cancellationToken);

    public async IAsyncEnumerable<LogPage> FollowAsync(long fromPosition, IReadOnlySet<string>? eventTypes, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var page in inner.FollowAsync(fromPosition, eventTypes, cancellationToken))
        {
            yield return page;
            // After the follower has taken the page (it asks for the next one once it has handled this one's events).
            if (page.Through > Interlocked.Read(ref _through))
            {
                Interlocked.Exchange(ref _through, page.Through);
            }

            Interlocked.Exchange(ref _paged, NewSignal()).TrySetResult();
        }
    }

    public Task<long> ReadHeadPositionAsync(CancellationToken cancellationToken) => inner.ReadHeadPositionAsync(cancellationToken);

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
