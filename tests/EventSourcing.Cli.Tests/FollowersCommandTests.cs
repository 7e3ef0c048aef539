using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.RegularExpressions;
using EventSourcing.Events;
using EventSourcing.Projections;
using EventSourcing.Reactors;
using EventSourcing.Testing.Contracts.Domain;
using EventSourcing.Testing.Contracts.Projections;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console.Testing;

namespace EventSourcing.Cli.Tests;

/// <summary>The verbs as <c>followers</c>, with a reactor: its status, replaying it, bad usage, and the former name.</summary>
public sealed class FollowersCommandTests
{
    private const string Node = "cli-tests-node";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>An application with a projection and a reactor, both caught up with 100 events.</summary>
    private static async Task<(ProjectionHost Host, long Head)> StartAsync()
    {
        var host = await ProjectionHost.StartAsync(es =>
        {
            TallyDecider.Register(es.Events);
            es.AddProjection(new TallyViewProjection());
            es.AddReactor<TallyWatcher>();
            es.SetNodeName(Node);
            es.UseInMemory();
        });
        var head = await TallyWorkload.AppendAsync(host.Store, 7, events: 100, streams: 10);
        await host.WaitForAsync(head, "tally-view");
        Assert.True(await Reactors(host).WaitForAsync(TallyWatcher.ReactorName, head, Patience, Ct), "the reactor did not catch up");
        return (host, head);
    }

    /// <summary>The words of a table's line, without its borders.</summary>
    private static string[] Cells(string line) => Regex.Split(line, "[^A-Za-z0-9-]+").Where(cell => cell.Length > 0).ToArray();

    private static ReactorStatusReader Reactors(ProjectionHost host) => host.Services.GetRequiredService<ReactorStatusReader>();

    private static TallyWatcher Watcher(ProjectionHost host) => host.Services.GetServices<Reactor>().OfType<TallyWatcher>().Single();

    private static async Task<int> GenerationAsync(ProjectionHost host) =>
        (await host.ProjectionStore.ReadStateAsync(Reactor.CheckpointNameOf(TallyWatcher.ReactorName), Ct)).ServingGeneration;

    private static async Task<(int? ExitCode, string Output)> RunAsync(ProjectionHost host, TestConsole console, params string[] args)
    {
        var exitCode = await host.Services.RunFollowersCommandAsync(args, console, Ct);
        return (exitCode, console.Output);
    }

    private static Task<(int? ExitCode, string Output)> RunAsync(ProjectionHost host, params string[] args) =>
        RunAsync(host, new TestConsole().Width(200), ["followers", .. args]);

    [Fact]
    public async Task Status_shows_the_reactor_in_a_second_table_and_in_the_json_with_the_node_running_it()
    {
        var (host, head) = await StartAsync();
        await using var _ = host;

        var (code, table) = await RunAsync(host, "status");
        var (jsonCode, json) = await RunAsync(host, "status", "--json");
        var rows = JsonDocument.Parse(json).RootElement.EnumerateArray().ToList();
        var reactor = Assert.Single(rows, r => r.GetProperty("lifecycle").GetString() == "reactor");

        Assert.Equal((0, 0), (code, jsonCode));
        Assert.Equal(["tally-view", "tally-watcher"], rows.Select(r => r.GetProperty("name").GetString()));
        Assert.Equal(
            ("tally-watcher", head, head, 0L, "running", Node, 0),
            (reactor.GetProperty("name").GetString(), reactor.GetProperty("position").GetInt64(), reactor.GetProperty("head").GetInt64(), reactor.GetProperty("lag").GetInt64(),
                reactor.GetProperty("state").GetString(), reactor.GetProperty("node").GetString(), reactor.GetProperty("deadLetters").GetInt32()));
        var second = table.IndexOf("Reactor", StringComparison.Ordinal);
        Assert.True(second > 0, table);
        Assert.DoesNotContain("tally-watcher", table[..second], StringComparison.Ordinal);
        var header = Cells(table[second..].Split('\n')[0]);
        var row = Cells(table[second..].Split('\n').Single(line => line.Contains("tally-watcher", StringComparison.Ordinal)));
        Assert.Equal(["Reactor", "Position", "Head", "Lag", "State", "Node", "Dead", "letters"], header);
        Assert.Equal(["tally-watcher", $"{head}", $"{head}", "0", "running", Node, "0"], row);
    }

    [Fact]
    public async Task Replay_with_yes_has_the_running_reactor_handle_the_log_again_from_the_position()
    {
        var (host, head) = await StartAsync();
        await using var _ = host;
        var watcher = Watcher(host);
        var generation = await GenerationAsync(host);
        Assert.Equal(Enumerable.Range(1, (int)head).Select(p => (long)p), watcher.Handled);

        var (code, output) = await RunAsync(host, "replay", TallyWatcher.ReactorName, "--from", "40", "--yes");
        await watcher.WaitForCountAsync((int)head + (int)head - 39, Patience);

        Assert.True(code == 0, output);
        Assert.Contains("tally-watcher: replays from position 40", output, StringComparison.Ordinal);
        Assert.Contains($"{Node} runs it", output, StringComparison.Ordinal);
        Assert.Equal(Enumerable.Range(1, (int)head).Concat(Enumerable.Range(40, (int)head - 39)).Select(p => (long)p), watcher.Handled);
        Assert.Equal(generation + 1, await GenerationAsync(host));
        Assert.True(await Reactors(host).WaitForAsync(TallyWatcher.ReactorName, head, Patience, Ct));
    }

    [Fact]
    public async Task Replay_asks_for_confirmation_on_a_terminal_and_a_no_replays_nothing()
    {
        var (host, head) = await StartAsync();
        await using var _ = host;
        var generation = await GenerationAsync(host);
        var declining = new TestConsole().Width(200).Interactive();
        declining.Input.PushTextWithEnter("n");
        var accepting = new TestConsole().Width(200).Interactive();
        accepting.Input.PushTextWithEnter("y");

        var (noCode, no) = await RunAsync(host, declining, "followers", "replay", TallyWatcher.ReactorName, "--from", "1");
        var noGeneration = await GenerationAsync(host);
        var (yesCode, yes) = await RunAsync(host, accepting, "followers", "replay", TallyWatcher.ReactorName, "--from", $"{head + 1}");

        Assert.Equal((0, 0), (noCode, yesCode));
        Assert.Contains($"handles the events from 1 to {head} again", no, StringComparison.Ordinal);
        Assert.Contains("Nothing replayed.", no, StringComparison.Ordinal);
        Assert.Equal(generation, noGeneration);
        Assert.Contains("handling nothing again and skipping nothing", yes, StringComparison.Ordinal);
        Assert.Contains($"replays from position {head + 1}", yes, StringComparison.Ordinal);
        Assert.Equal(generation + 1, await GenerationAsync(host));
    }

    [Theory]
    [InlineData("Known reactors: tally-watcher", "replay", "nope", "--from", "1", "--yes")]
    [InlineData("--from must be a position from 1 to", "replay", "tally-watcher", "--from", "0", "--yes")]
    [InlineData("--from must be a position from 1 to", "replay", "tally-watcher", "--from", "100000", "--yes")]
    [InlineData("--from", "replay", "tally-watcher", "--from", "abc", "--yes")]
    [InlineData("--from", "replay", "tally-watcher", "--yes")]
    [InlineData("add --yes", "replay", "tally-watcher", "--from", "1")]
    [InlineData("Usage: followers", "replay")]
    public async Task Bad_usage_of_replay_says_what_is_wrong_exits_with_2_and_replays_nothing(string expected, params string[] args)
    {
        var (host, _) = await StartAsync();
        await using var disposeHost = host;
        var generation = await GenerationAsync(host);

        var (code, output) = await RunAsync(host, args);

        Assert.True(code == 2, output);
        Assert.Contains(expected, output, StringComparison.Ordinal);
        Assert.Equal(generation, await GenerationAsync(host));
    }

    [Fact]
    public async Task The_former_name_projections_runs_the_same_verbs_with_the_same_output_through_either_method()
    {
        var (host, _) = await StartAsync();
        await using var disposeHost = host;

        foreach (var verb in new[] { new[] { "status" }, ["status", "--json"], ["list"], ["list", "--json"] })
        {
            var followers = await RunAsync(host, new TestConsole().Width(200), ["followers", .. verb]);
            var projections = await RunAsync(host, new TestConsole().Width(200), ["projections", .. verb]);
            var oldMethod = new TestConsole().Width(200);
            var oldMethodCode = await host.Services.RunProjectionsCommandAsync(["projections", .. verb], oldMethod, Ct);
            var newVerbOldMethod = new TestConsole().Width(200);
            var newVerbOldMethodCode = await host.Services.RunProjectionsCommandAsync(["followers", .. verb], newVerbOldMethod, Ct);

            Assert.Equal((0, 0, 0, 0), (followers.ExitCode, projections.ExitCode, oldMethodCode, newVerbOldMethodCode));
            Assert.Equal(followers.Output, projections.Output);
            Assert.Equal(followers.Output, oldMethod.Output);
            Assert.Equal(followers.Output, newVerbOldMethod.Output);
        }

        var (badCode, bad) = await RunAsync(host, new TestConsole().Width(200), "projections", "rebuild-everything");
        Assert.Equal(2, badCode);
        Assert.Contains("Usage: projections list | status", bad, StringComparison.Ordinal);
        Assert.True(FollowersCommand.Handles(["projections", "status"]) && FollowersCommand.Handles(["followers"]));
        Assert.False(FollowersCommand.Handles(["--urls", "http://localhost:5000"]) || FollowersCommand.Handles([]));
    }

    [Fact]
    public async Task Dead_letters_lists_a_reactors_letters_and_a_projections_none_and_an_unknown_name_is_bad_usage()
    {
        var (host, head) = await StartAsync();
        await using var disposeHost = host;
        var store = host.Services.GetRequiredService<IProjectionStore>();
        var name = Reactor.CheckpointNameOf(TallyWatcher.ReactorName);
        var state = await store.ReadStateAsync(name, Ct);
        var batch = await store.BeginAsync(name, state.ServingGeneration, Ct);
        await using (batch)
        {
            batch.DeadLetter(new DeadLetter(name, head - 3, Guid.NewGuid(), "tally-3", "tally-increased.v1", "InvalidOperationException: the printer is out of paper", DateTimeOffset.UtcNow));
            await batch.CommitAsync(Ct);
        }

        var (code, table) = await RunAsync(host, "dead-letters", TallyWatcher.ReactorName);
        var (jsonCode, json) = await RunAsync(host, "dead-letters", TallyWatcher.ReactorName, "--json");
        var (noneCode, none) = await RunAsync(host, "dead-letters", "tally-view");
        var (badCode, bad) = await RunAsync(host, "dead-letters", "nothing-by-that-name");

        Assert.Equal<int?>([FollowersCommand.Done, FollowersCommand.Done, FollowersCommand.Done, FollowersCommand.BadUsage], [code, jsonCode, noneCode, badCode]);
        Assert.Contains(table.Split('\n'), line => Cells(line) is [var position, "tally-increased", "v1", "tally-3", ..] && position == $"{head - 3}");
        Assert.Contains("the printer is out of paper", table, StringComparison.Ordinal);
        var letter = Assert.Single(JsonDocument.Parse(json).RootElement.EnumerateArray());
        Assert.Equal(head - 3, letter.GetProperty("position").GetInt64());
        Assert.Contains("tally-view has no dead letters", none, StringComparison.Ordinal);
        Assert.Contains("There is no projection or reactor 'nothing-by-that-name'", bad, StringComparison.Ordinal);
        Assert.Contains(TallyWatcher.ReactorName, bad, StringComparison.Ordinal);
    }

    /// <summary>Records the position of every event it is given; waiters wake on each one.</summary>
    private sealed class TallyWatcher : Reactor, IDisposable
    {
        public const string ReactorName = "tally-watcher";

        private readonly ConcurrentQueue<long> _handled = new();
        private readonly SemaphoreSlim _each = new(0);

        public override string Name => ReactorName;

        public IReadOnlyList<long> Handled => [.. _handled];

        public override Task ReactAsync(EventEnvelope envelope, CancellationToken cancellationToken)
        {
            _handled.Enqueue(envelope.Position);
            _each.Release();
            return Task.CompletedTask;
        }

        public async Task WaitForCountAsync(int count, TimeSpan timeout)
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            deadline.CancelAfter(timeout);
            while (_handled.Count < count)
            {
                await _each.WaitAsync(deadline.Token);
            }
        }

        public void Dispose() => _each.Dispose();
    }
}
