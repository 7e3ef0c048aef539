using System.Text.Json;
using System.Text.RegularExpressions;
using EventSourcing.Events;
using EventSourcing.Marten.Hosting;
using EventSourcing.Projections;
using EventSourcing.Storage;
using EventSourcing.Testing.Contracts.Domain;
using EventSourcing.Testing.Contracts.Projections;
using Spectre.Console.Testing;

namespace EventSourcing.Cli.Tests;

/// <summary>Each verb run in-process against an application's registrations, on the in-memory store.</summary>
public sealed class ProjectionsCommandTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<ProjectionHost> StartAsync(bool clocked = false, bool live = false)
    {
        var host = await ProjectionHost.StartAsync(es =>
        {
            TallyDecider.Register(es.Events);
            es.AddProjection(new TallyViewProjection());
            es.AddProjection(new OpenTalliesProjection(), ProjectionLifecycle.Inline);
            if (clocked)
            {
                es.AddProjection(new ClockedTallyProjection());
            }

            if (live)
            {
                es.AddProjection(new TallySumProjection(), ProjectionLifecycle.Live);
            }

            es.UseInMemory();
        });
        var last = await TallyWorkload.AppendAsync(host.Store, 5, events: 400, streams: 20);
        await host.WaitForAsync(last, "tally-view");
        return host;
    }

    private static async Task<(int? ExitCode, string Output)> RunAsync(ProjectionHost host, params string[] args)
    {
        var console = new TestConsole().Width(200);
        var exitCode = await host.Services.RunProjectionsCommandAsync(["projections", .. args], console, Ct);
        return (exitCode, console.Output);
    }

    /// <summary>The words of a table's line, without its borders.</summary>
    private static string[] Cells(string line) => Regex.Split(line, "[^A-Za-z0-9-]+").Where(cell => cell.Length > 0).ToArray();

    private static string[] Row(string table, string name) => Cells(table.Split('\n').Single(line => line.Contains($" {name} ", StringComparison.Ordinal)));

    private static async Task<int> ServingGenerationAsync(ProjectionHost host, string projection) =>
        (await host.ProjectionStore.ReadStateAsync(projection, Ct)).ServingGeneration;

    [Fact]
    public async Task Other_arguments_are_left_to_the_application()
    {
        await using var host = await StartAsync();

        Assert.Null(await host.Services.RunProjectionsCommandAsync(["--urls", "http://localhost:5000"], new TestConsole(), Ct));
        Assert.Null(await host.Services.RunProjectionsCommandAsync([], new TestConsole(), Ct));
    }

    [Fact]
    public async Task List_shows_name_version_lifecycle_and_view_type_as_a_table_or_json()
    {
        await using var host = await StartAsync();

        var (code, table) = await RunAsync(host, "list");
        var (jsonCode, json) = await RunAsync(host, "list", "--json");
        var rows = JsonDocument.Parse(json).RootElement.EnumerateArray().Select(e => (e.GetProperty("name").GetString(), e.GetProperty("lifecycle").GetString(), e.GetProperty("viewType").GetString())).ToList();

        Assert.Equal((0, 0), (code, jsonCode));
        Assert.Contains("tally-view", table, StringComparison.Ordinal);
        Assert.Contains("OpenTally", table, StringComparison.Ordinal);
        Assert.Equal([("tally-view", "async", "TallyView"), ("open-tallies", "inline", "OpenTally")], rows);
    }

    [Fact]
    public async Task Status_shows_position_head_lag_and_state_and_says_the_store_is_in_memory()
    {
        await using var host = await StartAsync();
        var head = await host.Store.ReadHeadPositionAsync(Ct);

        var (code, table) = await RunAsync(host, "status");
        var (_, json) = await RunAsync(host, "status", "--json");
        var status = JsonDocument.Parse(json).RootElement.EnumerateArray().First(e => e.GetProperty("name").GetString() == "tally-view");

        Assert.Equal(0, code);
        Assert.Contains("in memory", table, StringComparison.Ordinal);
        Assert.Contains("running", table, StringComparison.Ordinal);
        Assert.DoesNotContain("Reactor", table, StringComparison.Ordinal); // no reactor, no second table: the output as before
        Assert.Equal(["tally-view", "open-tallies"], JsonDocument.Parse(json).RootElement.EnumerateArray().Select(e => e.GetProperty("name").GetString()));
        Assert.Equal((head, head, 0L), (status.GetProperty("position").GetInt64(), status.GetProperty("head").GetInt64(), status.GetProperty("lag").GetInt64()));
    }

    [Fact]
    public async Task Rebuild_with_yes_rebuilds_and_keeps_the_views_and_prints_plain_progress_when_not_a_terminal()
    {
        await using var host = await StartAsync();
        var before = await host.Verifier.HashServingAsync("tally-view", Ct);
        var generation = (await host.ProjectionStore.ReadStateAsync("tally-view", Ct)).ServingGeneration;

        var (code, output) = await RunAsync(host, "rebuild", "tally-view", "--yes");

        Assert.Equal(0, code);
        Assert.Contains("Rebuilding tally-view:", output, StringComparison.Ordinal);
        Assert.Contains("now serves", output, StringComparison.Ordinal);
        Assert.Equal(before, await host.Verifier.HashServingAsync("tally-view", Ct));
        Assert.NotEqual(generation, (await host.ProjectionStore.ReadStateAsync("tally-view", Ct)).ServingGeneration);
    }

    [Fact]
    public async Task Verify_reports_equal_with_exit_code_0_and_differences_with_exit_code_1()
    {
        await using var host = await StartAsync(clocked: true);

        var (equalCode, equal) = await RunAsync(host, "verify", "tally-view");
        var (differCode, differ) = await RunAsync(host, "verify", "clocked-tally", "--json");
        var result = JsonDocument.Parse(differ).RootElement[0];

        Assert.Equal(0, equalCode);
        Assert.Contains("tally-view: equal", equal, StringComparison.Ordinal);
        Assert.Equal(1, differCode);
        Assert.False(result.GetProperty("equal").GetBoolean());
        Assert.NotEmpty(result.GetProperty("differingIds").EnumerateArray());
    }

    [Theory]
    [InlineData("rebuild", "nope", "--yes")]
    [InlineData("verify", "nope")]
    [InlineData("rebuild", "--yes")]
    [InlineData("rebuild", "tally-view", "--all", "--yes")]
    public async Task Bad_usage_names_the_known_projections_and_exits_with_2(params string[] args)
    {
        await using var host = await StartAsync();

        var (code, output) = await RunAsync(host, args);

        Assert.Equal(2, code);
        Assert.Contains("tally-view, open-tallies", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rebuilding_without_yes_off_a_terminal_asks_for_yes_and_an_unknown_verb_is_bad_usage()
    {
        await using var host = await StartAsync();
        var generation = (await host.ProjectionStore.ReadStateAsync("tally-view", Ct)).ServingGeneration;

        var (code, output) = await RunAsync(host, "rebuild", "tally-view");
        var (verbCode, verbOutput) = await RunAsync(host, "rebuild-everything");

        Assert.Equal(2, code);
        Assert.Contains("--yes", output, StringComparison.Ordinal);
        Assert.Equal(generation, (await host.ProjectionStore.ReadStateAsync("tally-view", Ct)).ServingGeneration);
        Assert.Equal(2, verbCode);
        Assert.Contains("rebuild-everything", verbOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_database_is_a_clear_failure_with_exit_code_1()
    {
        await using var host = await ProjectionHost.StartAsync(
            es =>
            {
                TallyDecider.Register(es.Events);
                es.AddProjection(new TallyViewProjection());
                es.ConfigurePersonalData(o => o.MasterKey = Convert.ToBase64String(new byte[32]));
                es.UseMarten("Host=127.0.0.1;Port=1;Username=postgres;Database=nowhere;Timeout=2", marten => marten.AutoCreateSchemaObjects = JasperFx.AutoCreate.CreateOrUpdate);
            },
            startHostedServices: false);

        var (code, output) = await RunAsync(host, "status");

        Assert.Equal(1, code);
        Assert.Contains("unavailable", output, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task List_and_status_show_a_live_projection_as_live_in_the_table_and_the_json()
    {
        await using var host = await StartAsync(live: true);
        var head = await host.Store.ReadHeadPositionAsync(Ct);

        var (listCode, list) = await RunAsync(host, "list");
        var (listJsonCode, listJson) = await RunAsync(host, "list", "--json");
        var (statusCode, status) = await RunAsync(host, "status");
        var (statusJsonCode, statusJson) = await RunAsync(host, "status", "--json");
        var listed = JsonDocument.Parse(listJson).RootElement.EnumerateArray().Single(e => e.GetProperty("name").GetString() == "tally-sum");
        var stated = JsonDocument.Parse(statusJson).RootElement.EnumerateArray().Single(e => e.GetProperty("name").GetString() == "tally-sum");

        Assert.Equal((0, 0, 0, 0), (listCode, listJsonCode, statusCode, statusJsonCode));
        Assert.Equal(["tally-sum", "1", "live", "TallySum"], Row(list, "tally-sum"));
        Assert.Equal("live", listed.GetProperty("lifecycle").GetString());
        Assert.Equal(["tally-sum", $"{head}", $"{head}", "0", "live", "0"], Row(status, "tally-sum"));
        Assert.Equal(["tally-view", $"{head}", $"{head}", "0", "running", "0"], Row(status, "tally-view"));
        Assert.Equal(
            ("live", "live", head, 0L),
            (stated.GetProperty("lifecycle").GetString(), stated.GetProperty("state").GetString(), stated.GetProperty("position").GetInt64(), stated.GetProperty("lag").GetInt64()));
    }

    [Fact]
    public async Task Rebuild_and_verify_of_a_live_projection_by_name_say_it_is_folded_on_read_and_exit_with_0()
    {
        await using var host = await StartAsync(live: true);

        var (rebuildCode, rebuild) = await RunAsync(host, "rebuild", "tally-sum", "--yes");
        var (unconfirmedCode, unconfirmed) = await RunAsync(host, "rebuild", "tally-sum"); // nothing to rebuild, nothing to confirm
        var (verifyCode, verify) = await RunAsync(host, "verify", "tally-sum");
        var (jsonCode, json) = await RunAsync(host, "verify", "tally-sum", "--json");

        Assert.Equal((0, 0, 0, 0), (rebuildCode, unconfirmedCode, verifyCode, jsonCode));
        Assert.Contains("tally-sum is live: its views are folded on read, so there is nothing to rebuild.", rebuild, StringComparison.Ordinal);
        Assert.DoesNotContain("now serves", rebuild, StringComparison.Ordinal);
        Assert.Contains("nothing to rebuild", unconfirmed, StringComparison.Ordinal);
        Assert.DoesNotContain("--yes", unconfirmed, StringComparison.Ordinal);
        Assert.Contains("tally-sum is live: its views are folded on read, so there is nothing to verify.", verify, StringComparison.Ordinal);
        Assert.DoesNotContain("equal", verify, StringComparison.Ordinal);
        Assert.Empty(JsonDocument.Parse(json).RootElement.EnumerateArray()); // the JSON holds verifications alone
    }

    [Fact]
    public async Task Rebuild_and_verify_with_all_skip_the_live_projection_with_a_message_and_handle_the_others()
    {
        await using var host = await StartAsync(live: true);
        var generation = await ServingGenerationAsync(host, "tally-view");

        var (verifyCode, verify) = await RunAsync(host, "verify", "--all");
        var (jsonCode, json) = await RunAsync(host, "verify", "--all", "--json");
        var (rebuildCode, rebuild) = await RunAsync(host, "rebuild", "--all", "--yes");
        var verified = JsonDocument.Parse(json).RootElement.EnumerateArray().ToList();

        Assert.Equal((0, 0, 0), (verifyCode, jsonCode, rebuildCode));
        Assert.Contains("tally-sum is live: its views are folded on read, so there is nothing to verify.", verify, StringComparison.Ordinal);
        Assert.Contains("tally-view: equal", verify, StringComparison.Ordinal);
        Assert.Contains("open-tallies: equal", verify, StringComparison.Ordinal);
        Assert.Equal(["tally-view", "open-tallies"], verified.Select(r => r.GetProperty("projection").GetString()));
        Assert.All(verified, r => Assert.True(r.GetProperty("equal").GetBoolean()));
        Assert.Contains("tally-sum is live: its views are folded on read, so there is nothing to rebuild.", rebuild, StringComparison.Ordinal);
        Assert.Contains("tally-view: rebuilt to position", rebuild, StringComparison.Ordinal);
        Assert.Contains("open-tallies: rebuilt to position", rebuild, StringComparison.Ordinal);
        Assert.DoesNotContain("generation 0", rebuild, StringComparison.Ordinal);
        Assert.DoesNotContain("tally-sum: rebuilt", rebuild, StringComparison.Ordinal);
        Assert.NotEqual(generation, await ServingGenerationAsync(host, "tally-view"));
    }

    [Fact]
    public async Task Status_shows_a_projection_stopped_at_a_poison_event_as_stopped_at_the_events_position()
    {
        await using var host = await ProjectionHost.StartAsync(es =>
        {
            TallyDecider.Register(es.Events);
            es.AddProjection(new TallyViewProjection());
            es.AddProjection(new FragileTallyProjection(), ProjectionLifecycle.Async, onPoisonEvent: PoisonEventPolicy.Stop);
            es.UseInMemory();
        });
        await host.Store.AppendAsync("tally-s", ExpectedVersion.NoStream, [new TallyIncreased(2, 2)], EventMetadata.Empty, Ct);
        var poison = await host.Store.AppendAsync("tally-s", ExpectedVersion.Any, [new TallyIncreased(13, 15)], EventMetadata.Empty, Ct);
        var last = await host.Store.AppendAsync("tally-s", ExpectedVersion.Any, [new TallyIncreased(1, 16)], EventMetadata.Empty, Ct);
        await host.WaitForAsync(last.Position, "tally-view");
        await host.WaitForStatusAsync("fragile-tally", s => s.State != "running", TimeSpan.FromSeconds(10));

        var (code, table) = await RunAsync(host, "status");
        var (jsonCode, json) = await RunAsync(host, "status", "--json");
        var stopped = JsonDocument.Parse(json).RootElement.EnumerateArray().Single(e => e.GetProperty("name").GetString() == "fragile-tally");
        var row = Row(table, "fragile-tally");

        Assert.Equal((0, 0), (code, jsonCode));
        Assert.Equal(["stopped", "at", $"{poison.Position}", "1"], row[4..]);
        Assert.Equal($"{last.Position}", row[2]);
        Assert.True(long.Parse(row[1], System.Globalization.CultureInfo.InvariantCulture) < poison.Position, table);
        Assert.Equal("running", Row(table, "tally-view")[4]);
        Assert.Contains("A stopped projection waits at the event it failed on", table, StringComparison.Ordinal);
        Assert.Equal(("stopped", 1), (stopped.GetProperty("state").GetString(), stopped.GetProperty("deadLetters").GetInt32()));
        Assert.Equal(poison.Position, stopped.GetProperty("stoppedAt").GetInt64());
    }

    /// <summary>A live projection: folded from its stream on every read, nothing stored.</summary>
    private sealed record TallySum(string Id, int Total);

    private sealed class TallySumProjection : Projection<TallySum>
    {
        public override string Name => "tally-sum";

        public override IEnumerable<string> ViewIds(EventEnvelope envelope) => envelope.Data is TallyIncreased ? [envelope.StreamId] : [];

        public override TallySum? Evolve(string id, TallySum? view, EventEnvelope envelope) => new(id, ((TallyIncreased)envelope.Data).Total);
    }
}
