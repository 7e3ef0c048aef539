using EventSourcing.Deciders;
using EventSourcing.Events;
using EventSourcing.Storage;
using EventSourcing.Testing.Contracts.Domain;
using EventSourcing.Tests.Shared.Logging;
using EventSourcing.Tests.Shared.Postgres;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace EventSourcing.Marten.Tests.Hosting;

/// <summary>
/// What the hosts log on PostgreSQL: handled conditions (concurrency conflicts retried by the decider handler, a refused
/// expected version) are no errors; a real failure is one error, with its exception.
/// </summary>
public sealed class MartenLoggingTests(PostgresFixture postgres, ITestOutputHelper output)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Conflicts_of_two_nodes_racing_on_one_stream_are_retried_and_log_no_error()
    {
        var logs = new LogRecorder();
        var started = 0;
        await using (var nodes = await MartenNodes.StartAsync(
            await postgres.CreateDatabaseAsync("logged_conflicts", Ct),
            es =>
            {
                TallyDecider.Register(es.Events);
                es.AddDecider(TallyDecider.Decider).ConfigureCommands(o => o.MaxConflictRetries = 500);
            },
            services => logs.For($"node-{(char)('a' + started++)}").AddTo(services),
            startHostedServices: true))
        {
            var handlers = nodes.All.Select(n => n.Services.GetRequiredService<DeciderHandler<TallyCommand, TallyEvent, Tally>>()).ToArray();
            await handlers[0].HandleAsync("tally-raced", new AddToTally("raced", 1, "warm-up"), Ct);
            using var start = new ManualResetEventSlim();
            var writers = Enumerable.Range(0, 40).Select(i => Task.Run(async () =>
            {
                start.Wait(Ct);
                return await handlers[i % 2].HandleAsync("tally-raced", new AddToTally("raced", 2 + i, "n", Guid.NewGuid()), Ct);
            })).ToArray();
            start.Set();
            await Task.WhenAll(writers);

            // A refused expected version, caught by the caller: handled too.
            var refused = 0;
            for (var i = 0; i < 5; i++)
            {
                try
                {
                    await nodes.B.Store.AppendAsync("tally-raced", ExpectedVersion.Exact(1), [new TallyIncreased(1, 1)], EventMetadata.Empty, Ct);
                }
                catch (ConcurrencyException)
                {
                    refused++;
                }
            }

            Assert.Equal(5, refused);
        }

        var retried = logs.Entries.Count(e => e.Message.StartsWith("Conflict on stream tally-raced", StringComparison.Ordinal));
        var errors = logs.Errors;
        output.WriteLine($"{retried} conflicts retried, 5 refused; {errors.Count} error entries, {errors.Sum(e => e.Message.Split('\n').Length + (e.Exception?.ToString().Split('\n').Length ?? 0))} lines");
        output.WriteLine(LogRecorder.Describe(errors.Take(5)));
        Assert.True(retried > 0, "no conflict happened: the test proves nothing");
        Assert.True(errors.Count == 0, LogRecorder.Describe(errors));
        Assert.Contains(logs.Entries, e => e is { Level: LogLevel.Debug, Category: "Marten.IDocumentStore" } && e.Message.Contains("concurrency conflict", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_statement_the_database_refuses_logs_one_error_with_its_exception()
    {
        var logs = new LogRecorder();
        await using var nodes = await MartenNodes.StartAsync(
            await postgres.CreateDatabaseAsync("logged_failure", Ct),
            es => TallyDecider.Register(es.Events),
            logs.AddTo,
            count: 1);
        await nodes.A.Store.AppendAsync("tally-refused", ExpectedVersion.NoStream, [new TallyIncreased(1, 1)], EventMetadata.Empty, Ct); // creates the schema
        await using (var connection = new NpgsqlConnection(nodes.ConnectionString))
        {
            await connection.OpenAsync(Ct);
            await using var refuse = new NpgsqlCommand($"alter table {nodes.A.EventSchema}.mt_events add constraint refuse_closed check (type <> 'tally-closed.v1')", connection);
            await refuse.ExecuteNonQueryAsync(Ct);
        }

        var before = logs.Entries.Count;
        var failure = await Assert.ThrowsAnyAsync<Exception>(() =>
            nodes.A.Store.AppendAsync("tally-refused", ExpectedVersion.Exact(1), [new TallyClosed(1)], EventMetadata.Empty, Ct));

        var errors = logs.Entries.Skip(before).Where(e => e.Level >= LogLevel.Error).ToList();
        var error = Assert.Single(errors);
        Assert.Equal("Marten.IDocumentStore", error.Category);
        Assert.Contains("mt_quick_append_events", error.Message, StringComparison.Ordinal);
        Assert.Equal(PostgresErrorCodes.CheckViolation, Assert.IsType<PostgresException>(error.Exception?.GetBaseException()).SqlState);
        Assert.Same(error.Exception?.GetBaseException(), failure.GetBaseException());
    }
}
