using EventSourcing.Events;

namespace EventSourcing.Storage;

/// <summary>
/// Work done inside an in-memory append, after its events are numbered and before they become visible (the inline
/// projections): a failure fails the append, which is then rolled back.
/// </summary>
internal interface IAppendParticipant
{
    /// <summary>Takes part in the append of <paramref name="appended"/>; <paramref name="log"/> reads what came before them.</summary>
    Task OnAppendingAsync(IEventReader log, IReadOnlyList<EventEnvelope> appended, CancellationToken cancellationToken);
}
