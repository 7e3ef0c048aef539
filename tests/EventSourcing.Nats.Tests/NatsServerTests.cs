using EventSourcing.Testing.Nats;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace EventSourcing.Nats.Tests;

/// <summary>The throwaway NATS server of EventSourcing.Testing: it starts, answers, restarts with its JetStream data, and cleans up.</summary>
public sealed class NatsServerTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static NatsServerOptions Restartable => new() { Restartable = true };

    [Fact]
    public async Task A_started_server_answers_with_JetStream_on()
    {
        await using var server = await NatsServer.StartAsync(Restartable, Ct);
        await using var connection = new NatsConnection(new NatsOpts { Url = server.Url });

        var rtt = await connection.PingAsync(Ct);
        var account = await new NatsJSContext(connection).GetAccountInfoAsync(Ct);

        Assert.Equal(NatsServerKind.Local, server.Kind);
        Assert.StartsWith("nats://127.0.0.1:", server.Url, StringComparison.Ordinal);
        Assert.True(rtt >= TimeSpan.Zero);
        Assert.Equal(0, account.Streams);
    }

    [Theory]
    [InlineData(NatsStopMode.Graceful)]
    [InlineData(NatsStopMode.Kill)]
    public async Task A_server_stopped_and_started_again_keeps_its_port_and_JetStream_data(NatsStopMode mode)
    {
        await using var server = await NatsServer.StartAsync(Restartable, Ct);
        var url = server.Url;
        await WithJetStreamAsync(server.Url, async js =>
        {
            await js.CreateStreamAsync(new StreamConfig("KEPT", ["kept.>"]) { Storage = StreamConfigStorage.File }, Ct);
            for (var i = 0; i < 10; i++)
            {
                (await js.PublishAsync($"kept.{i}", i, cancellationToken: Ct)).EnsureSuccess();
            }
        });

        await server.StopAsync(mode, Ct);
        Assert.False(server.IsRunning);
        await server.StartAgainAsync(Ct);

        Assert.True(server.IsRunning);
        Assert.Equal(url, server.Url);
        await WithJetStreamAsync(server.Url, async js =>
        {
            var stream = await js.GetStreamAsync("KEPT", cancellationToken: Ct);
            Assert.Equal(10L, stream.Info.State.Messages);
        });
    }

    [Fact]
    public async Task A_killed_server_refuses_connections_until_started_again()
    {
        await using var server = await NatsServer.StartAsync(Restartable, Ct);
        var pid = ServerProcessId(server);

        await server.StopAsync(NatsStopMode.Kill, Ct);

        Assert.False(ProcessRuns(pid));
        await using (var refused = new NatsConnection(new NatsOpts { Url = server.Url, ConnectTimeout = TimeSpan.FromSeconds(1) }))
        {
            await Assert.ThrowsAnyAsync<NatsException>(async () => await refused.ConnectAsync());
        }

        await server.StartAgainAsync(Ct);
        await using var connection = new NatsConnection(new NatsOpts { Url = server.Url });
        await connection.PingAsync(Ct);
    }

    [Fact]
    public async Task A_paused_server_answers_nothing_until_resumed_and_then_answers_on_the_same_connection()
    {
        await using var server = await NatsServer.StartAsync(Restartable, Ct);
        await using var connection = new NatsConnection(new NatsOpts { Url = server.Url });
        await connection.PingAsync(Ct);

        await server.PauseAsync(Ct);
        var unanswered = connection.PingAsync(Ct).AsTask();
        var answeredWhilePaused = await Task.WhenAny(unanswered, Task.Delay(TimeSpan.FromSeconds(1), Ct)) == unanswered;
        await server.ResumeAsync(Ct);

        Assert.False(answeredWhilePaused, "the paused server answered a ping");
        Assert.True(server.IsRunning);
        await unanswered.WaitAsync(TimeSpan.FromSeconds(10), Ct); // answered once it runs again
        await connection.PingAsync(Ct);
    }

    [Fact]
    public async Task Disposing_the_server_ends_its_process_and_removes_its_folder()
    {
        var server = await NatsServer.StartAsync(Restartable, Ct);
        var root = server.RootDirectory!;
        var pid = ServerProcessId(server);
        Assert.True(Directory.Exists(root));
        Assert.True(ProcessRuns(pid));

        await server.DisposeAsync();

        Assert.False(Directory.Exists(root));
        Assert.False(ProcessRuns(pid));
    }

    [Fact]
    public async Task A_server_that_is_not_restartable_cannot_be_stopped()
    {
        await using var server = await NatsServer.StartAsync(cancellationToken: Ct);

        await Assert.ThrowsAsync<NotSupportedException>(() => server.StopAsync(NatsStopMode.Kill, Ct));
    }

    [Fact]
    public async Task Without_nats_server_the_error_says_what_to_install()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"no-nats-server-{Guid.NewGuid():N}");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(
            () => NatsServer.StartAsync(new NatsServerOptions { ServerPath = missing, Restartable = true }, Ct));

        Assert.Contains(missing, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_external_server_variable_is_used_as_it_is_unless_the_server_must_restart()
    {
        await using var local = await NatsServer.StartAsync(Restartable, Ct);
        var variable = $"EVENTSOURCING_TEST_NATS_{Guid.NewGuid():N}";
        Environment.SetEnvironmentVariable(variable, local.Url);
        try
        {
            await using var external = await NatsServer.StartAsync(new NatsServerOptions { UrlVariable = variable }, Ct);
            await using var own = await NatsServer.StartAsync(new NatsServerOptions { UrlVariable = variable, Restartable = true }, Ct);

            Assert.Equal(NatsServerKind.External, external.Kind);
            Assert.Equal(local.Url, external.Url);
            Assert.Null(external.RootDirectory);
            Assert.Equal(NatsServerKind.Local, own.Kind);
            Assert.NotEqual(local.Url, own.Url);
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }

    private static async Task WithJetStreamAsync(string url, Func<NatsJSContext, Task> action)
    {
        await using var connection = new NatsConnection(new NatsOpts { Url = url });
        await action(new NatsJSContext(connection));
    }

    private static int ServerProcessId(NatsServer server) =>
        int.Parse(File.ReadAllText(Path.Combine(server.RootDirectory!, "server.pid")).Trim(), System.Globalization.CultureInfo.InvariantCulture);

    private static bool ProcessRuns(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
