using EventSourcing.Marten.Projections;
using EventSourcing.Marten.Tests.Hosting;
using EventSourcing.Projections;
using EventSourcing.Testing.Contracts.Storage;
using EventSourcing.Tests.Shared.Postgres;
using Microsoft.Extensions.DependencyInjection;

namespace EventSourcing.Marten.Tests.Projections;

/// <summary>
/// Checkpoints are written without being read first (a conditional upsert): they still never move back, whichever of two
/// nodes writes them and in whatever order, alone or with dead letters in one transaction, and stay Marten documents
/// that <c>LoadAsync</c> reads.
/// </summary>
public sealed class CheckpointTests(PostgresFixture postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_checkpoint_moves_forward_only_whichever_node_writes_it_and_stays_a_document_marten_reads()
    {
        await using var nodes = await MartenNodes.StartAsync(await postgres.CreateDatabaseAsync("checkpoints", Ct), es => ContractEvents.Registry(es.Events));
        var onA = nodes.A.Services.GetRequiredService<IProjectionStore>();
        var onB = nodes.B.Services.GetRequiredService<IProjectionStore>();
        const string name = "checkpointed";

        await CheckpointAsync(onA, name, 1, 10);
        var first = await onB.ReadStateAsync(name, Ct);
        await CheckpointAsync(onB, name, 1, 5);
        var notBack = await onA.ReadStateAsync(name, Ct);
        await CheckpointAsync(onB, name, 1, 3, deadLetter: true); // with a dead letter: in the transaction that stores it
        var notBackWithLetter = await onA.ReadStateAsync(name, Ct);
        await CheckpointAsync(onB, name, 1, 15);
        var forward = await onA.ReadStateAsync(name, Ct);

        // Both nodes at once, in no order: the highest wins.
        var positions = Enumerable.Range(0, 60).Select(i => 16L + ((i * 37) % 500)).ToList();
        await Task.WhenAll(positions.Select((position, i) => CheckpointAsync(i % 2 == 0 ? onA : onB, name, 1, position, deadLetter: i % 3 == 0)));
        var raced = await onB.ReadStateAsync(name, Ct);

        Assert.Equal((1, 10L), (first.ServingGeneration, first.ServingPosition));
        Assert.Equal(10, notBack.ServingPosition);
        Assert.Equal(10, notBackWithLetter.ServingPosition);
        Assert.Equal(15, forward.ServingPosition);
        Assert.Equal(positions.Max(), raced.ServingPosition);
        await using var session = nodes.A.DocumentStore.QuerySession();
        var document = await session.LoadAsync<GenerationCheckpoint>($"{name}/1", Ct);
        Assert.Equal(($"{name}/1", positions.Max()), (document?.Id, document?.Position));
    }

    [Fact]
    public async Task The_state_reads_the_serving_and_the_building_generations_checkpoints_in_one_look()
    {
        await using var nodes = await MartenNodes.StartAsync(await postgres.CreateDatabaseAsync("checkpoint_state", Ct), es => ContractEvents.Registry(es.Events), count: 1);
        var store = nodes.A.Services.GetRequiredService<IProjectionStore>();
        const string name = "generations";

        var fresh = await store.ReadStateAsync(name, Ct);
        await CheckpointAsync(store, name, 1, 40);
        var building = await store.StartGenerationAsync(name, scratch: false, Ct);
        var unbuilt = await store.ReadStateAsync(name, Ct);
        await CheckpointAsync(store, name, building, 25);
        var halfway = await store.ReadStateAsync(name, Ct);
        await store.SwapAsync(name, building, Ct);
        var swapped = await store.ReadStateAsync(name, Ct);

        Assert.Equal(new ProjectionState(name, 1, 0, null, 0), fresh);
        Assert.Equal(new ProjectionState(name, 1, 40, building, 0), unbuilt);
        Assert.Equal(new ProjectionState(name, 1, 40, building, 25), halfway);
        Assert.Equal(new ProjectionState(name, building, 25, null, 0), swapped);
    }

    private static async Task CheckpointAsync(IProjectionStore store, string name, int generation, long position, bool deadLetter = false)
    {
        var batch = await store.BeginAsync(name, generation, Ct);
        await using (batch)
        {
            if (deadLetter)
            {
                batch.DeadLetter(new DeadLetter(name, position, Guid.NewGuid(), "stream", "type", "failed", DateTimeOffset.UtcNow));
            }

            batch.Checkpoint(position);
            await batch.CommitAsync(Ct);
        }
    }
}
