using EventSourcing.Testing.Nats;

namespace EventSourcing.Docs.Tests.Snippets.Forwarding;

// docs/forwarding.md, "The test fixture": a server killed and started again, frozen and let run.
internal static class RestartingNats
{
    public static async Task RestartAsync(CancellationToken cancellationToken)
    {
        await using var server = await NatsServer.StartAsync(new NatsServerOptions { Restartable = true }, cancellationToken);
        await server.StopAsync(NatsStopMode.Kill, cancellationToken);   // kill -9, as a crash
        await server.StartAgainAsync(cancellationToken);                // the same port and JetStream store
        await server.PauseAsync(cancellationToken);                     // SIGSTOP: connected, but answering nothing
        await server.ResumeAsync(cancellationToken);                    // SIGCONT
    }
}
