namespace EventSourcing.Testing.Nats;

/// <summary>How <see cref="NatsServer.StopAsync"/> stops the server.</summary>
public enum NatsStopMode
{
    /// <summary><c>SIGTERM</c>: the server closes its clients and its JetStream store cleanly.</summary>
    Graceful,

    /// <summary><c>SIGKILL</c> (<c>kill -9</c>): the process ends at once, as a crash would.</summary>
    Kill,
}
