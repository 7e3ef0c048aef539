using EventSourcing.Events;
using EventSourcing.Storage;

namespace EventSourcing.Reactors;

/// <summary>
/// A reactor that handles a page of events at once (a forwarder publishing them pipelined). The runner hands it each
/// page it reads, in log order, and moves the checkpoint past the page once the call returns; a page that keeps failing
/// is handled again event by event through <see cref="Reactor.ReactAsync"/>, so the poison policy applies to the one
/// event that fails. An outage (<see cref="IsOutage"/>) is waited out without counting as an attempt.
/// </summary>
internal abstract class PageReactor : Reactor
{
    /// <summary>Handles <paramref name="events"/> (in log order, at least one); throw to have the page tried again.</summary>
    public abstract Task ReactToPageAsync(IReadOnlyList<EventEnvelope> events, CancellationToken cancellationToken);

    /// <summary>Whether <paramref name="exception"/> says that something the reactor sends to is away, to be waited for.</summary>
    public virtual bool IsOutage(Exception exception) => false;
}

/// <summary>What the reactor runner waits out rather than counting as a failed attempt.</summary>
internal static class ReactorOutages
{
    /// <summary>Whether <paramref name="exception"/> says that something the reactor needs is away (the store; for a page reactor, what it says).</summary>
    public static bool IsOutage(Reactor reactor, Exception exception) =>
        exception is EventStoreUnavailableException || (reactor is PageReactor paged && paged.IsOutage(exception));
}
