using EventSourcing.Events;
using EventSourcing.Storage;
using EventSourcing.Testing.Contracts.Domain;

namespace EventSourcing.Testing.Contracts.Projections;

/// <summary>Seeded random tally events, appended by several concurrent writers.</summary>
public static class TallyWorkload
{
    /// <summary>Appends <paramref name="events"/> events (rounded down to a multiple of the writers) over <paramref name="streams"/> streams; returns the highest position appended.</summary>
    public static async Task<long> AppendAsync(IEventStore store, int seed, int events, int streams, int writers = 4, string prefix = "tally")
    {
        var last = 0L;
        await Task.WhenAll(Enumerable.Range(0, writers).Select(writer => Task.Run(async () =>
        {
            var random = new Random(seed * 100 + writer);
            var totals = new Dictionary<string, int>();
            var reopened = new int[streams / writers + 1];
            for (var i = 0; i < events / writers; i++)
            {
                var slot = random.Next(reopened.Length);
                var stream = $"{prefix}-{seed}-{writer}-{slot}-{reopened[slot]}";

                TallyEvent @event;
                if (random.Next(12) == 0 && totals.TryGetValue(stream, out var total))
                {
                    @event = new TallyClosed(total);
                    reopened[slot]++; // the slot continues in a new stream
                }
                else
                {
                    var amount = random.Next(1, 21);
                    totals[stream] = totals.GetValueOrDefault(stream) + amount;
                    @event = new TallyIncreased(amount, totals[stream]);
                }

                var result = await store.AppendAsync(stream, ExpectedVersion.Any, [@event], EventMetadata.Empty, TestContext.Current.CancellationToken);
                InterlockedMax(ref last, result.Position);
            }
        })));
        return last;
    }

    private static void InterlockedMax(ref long target, long value)
    {
        long current;
        while (value > (current = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}
