using System.Collections.Concurrent;
using System.Diagnostics;
using EventSourcing.Events;
using EventSourcing.Reactors;
using EventSourcing.Testing.Contracts.Privacy;
using Marten;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Reservations.Domain;
using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.Guarantees;

/// <summary>
/// Nodes of the sample whose reactor is watched: each node named (as separate processes on separate machines would be:
/// in one test process they would share the default name, machine and process id), every call of its reactor recorded
/// with the node that made it, and its log lines collected (conflict retries and repeated commands at Debug).
/// </summary>
internal static class ReactorNodes
{
    public const string Reactor = ConfirmationReactor.ReactorName;

    /// <summary>
    /// The group's setup for a node named <paramref name="node"/> with <paramref name="seatsPerDay"/> seats a day;
    /// <paramref name="beforeReaction"/>, when given, is awaited before the reactor handles each event (to hold it at a
    /// chosen point of a reservation's life).
    /// </summary>
    public static AppSetup Setup(string node, int seatsPerDay, ReactionLedger ledger, LogCollector logs, Func<EventEnvelope, CancellationToken, Task>? beforeReaction = null)
    {
        var settings = new Dictionary<string, string?>(Guarantee.Setup.Settings!)
        {
            ["Reservations:SeatsPerDay"] = seatsPerDay.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["EventSourcing:NodeName"] = node,
            ["Logging:LogLevel:EventSourcing.Deciders"] = "Debug",
            ["Logging:LogLevel:EventSourcing.Reactors"] = "Information",
            ["Logging:LogLevel:EventSourcing.Marten.Reactors"] = "Information",
        };
        return new AppSetup(settings, services =>
        {
            services.AddLogging(logging => logging.ClearProviders().AddProvider(logs));
            services.RemoveAll<Reactor>();
            services.AddSingleton<Reactor>(provider => new ObservedReactor(ActivatorUtilities.CreateInstance<ConfirmationReactor>(provider), node, ledger, beforeReaction));
        });
    }

    /// <summary>The reactor's status row as the node reads it.</summary>
    public static async Task<EventSourcing.Projections.ProjectionStatus> StatusAsync(ReservationsApp node) =>
        Assert.Single(await node.Services.GetRequiredService<ReactorStatusReader>().ReadAsync(TestContext.Current.CancellationToken), s => s.Name == Reactor);

    /// <summary>The sample's reactor, unchanged, each call recorded with the node making it.</summary>
    private sealed class ObservedReactor(Reactor inner, string node, ReactionLedger ledger, Func<EventEnvelope, CancellationToken, Task>? beforeReaction) : Reactor
    {
        public override string Name => inner.Name;

        public override IReadOnlyCollection<Type>? EventTypes => inner.EventTypes;

        public override Task ReactAsync(EventEnvelope envelope, CancellationToken cancellationToken)
        {
            ledger.Record(envelope.Position, node);
            return TimedAsync(envelope, cancellationToken);
        }

        private async Task TimedAsync(EventEnvelope envelope, CancellationToken cancellationToken)
        {
            if (beforeReaction is not null)
            {
                await beforeReaction(envelope, cancellationToken);
            }

            var started = Stopwatch.GetTimestamp();
            try
            {
                await inner.ReactAsync(envelope, cancellationToken);
            }
            finally
            {
                ledger.Spent(Stopwatch.GetElapsedTime(started));
            }
        }
    }
}

/// <summary>Every call of the reactor on every node: the position of the event and the node that handled it.</summary>
internal sealed class ReactionLedger
{
    private readonly ConcurrentDictionary<long, ConcurrentQueue<string>> _calls = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _lastCall;
    private long _spent;

    public void Record(long position, string node)
    {
        _calls.GetOrAdd(position, static _ => new ConcurrentQueue<string>()).Enqueue(node);
        Interlocked.Exchange(ref _lastCall, _clock.ElapsedTicks);
    }

    /// <summary>How long the calls took, all together.</summary>
    public TimeSpan Busy => TimeSpan.FromTicks(Interlocked.Read(ref _spent));

    public void Spent(TimeSpan time) => Interlocked.Add(ref _spent, time.Ticks);

    /// <summary>When the last call was made, from the ledger's creation.</summary>
    public TimeSpan LastCall => TimeSpan.FromSeconds((double)Interlocked.Read(ref _lastCall) / Stopwatch.Frequency);

    /// <summary>How many events the reactor was called for.</summary>
    public int Events => _calls.Count;

    /// <summary>Events some node handled (or tried) more than once, or two nodes handled.</summary>
    public int MoreThanOnce => _calls.Values.Count(calls => calls.Count > 1);

    /// <summary>Events handled by more than one node.</summary>
    public int OnMoreThanOneNode => _calls.Values.Count(calls => calls.Distinct().Count() > 1);

    /// <summary>Calls per node.</summary>
    public IReadOnlyDictionary<string, int> PerNode => _calls.Values.SelectMany(calls => calls).GroupBy(node => node).ToDictionary(g => g.Key, g => g.Count());

    /// <summary>Calls made by nodes other than <paramref name="node"/>.</summary>
    public int ElsewhereThan(string node) => PerNode.Where(p => p.Key != node).Sum(p => p.Value);

    public override string ToString() => string.Join(", ", PerNode.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key} {p.Value}"));
}
