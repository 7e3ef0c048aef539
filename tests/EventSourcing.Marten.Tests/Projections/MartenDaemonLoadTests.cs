using EventSourcing.Events;
using EventSourcing.Marten.Hosting;
using EventSourcing.Projections;
using EventSourcing.Storage;
using EventSourcing.Tests.Shared.Postgres;
using EventSourcing.Testing.Contracts.Projections;
using EventSourcing.Testing.Contracts.Storage;
using JasperFx;

namespace EventSourcing.Marten.Tests.Projections;

public sealed record StreamCount(string Id, long Count);

/// <summary>Counts events per stream, and all of them under the id "all".</summary>
public sealed class StreamCountProjection : Projection<StreamCount>
{
    public override string Name => "stream-count";

    public override IEnumerable<string> ViewIds(EventEnvelope envelope) => [envelope.StreamId, "all"];

    public override StreamCount? Evolve(string id, StreamCount? view, EventEnvelope envelope) => new(id, (view?.Count ?? 0) + 1);
}

public sealed class MartenDaemonLoadTests(PostgresFixture postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Eight_writers_of_12_500_events_are_each_counted_exactly_once_by_an_async_projection_on_the_daemon()
    {
        const int Writers = 8, PerWriter = 12_500, Batch = 50;
        var connectionString = await postgres.CreateDatabaseAsync("daemon_load", Ct);
        await using var host = await ProjectionHost.StartAsync(es =>
        {
            ContractEvents.Registry(es.Events);
            es.AddProjection(new StreamCountProjection());
            es.UseTestMarten(connectionString);
        });

        var positions = await Task.WhenAll(Enumerable.Range(0, Writers).Select(writer => Task.Run(async () =>
        {
            var last = 0L;
            for (var first = 0; first < PerWriter; first += Batch)
            {
                var events = Enumerable.Range(first, Batch).Select(i => (object)new ThingHappened($"writer-{writer}", i)).ToArray();
                last = (await host.Store.AppendAsync($"writer-{writer}", ExpectedVersion.Any, events, EventMetadata.Empty, Ct)).Position;
            }

            return last;
        })));
        Assert.True(await host.Views.WaitForPositionAsync<StreamCount>(positions.Max(), TimeSpan.FromMinutes(3), Ct), "the daemon did not catch up");

        var counts = await host.Views.QueryAsync<StreamCount>(_ => true, Ct);
        Assert.Equal(Writers + 1, counts.Count);
        Assert.All(counts.Where(c => c.Id != "all"), c => Assert.Equal(PerWriter, c.Count));
        Assert.Equal(Writers * PerWriter, counts.Single(c => c.Id == "all").Count);
        Assert.Empty(await host.ProjectionStore.ReadDeadLettersAsync("stream-count", Ct));
    }
}
