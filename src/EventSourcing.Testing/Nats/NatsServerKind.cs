namespace EventSourcing.Testing.Nats;

/// <summary>Where the server behind a <see cref="NatsServer"/> comes from.</summary>
public enum NatsServerKind
{
    /// <summary>A server named by an environment variable, used as it is and never stopped.</summary>
    External,

    /// <summary>A throwaway <c>nats-server</c> process with JetStream, its store in a temp folder removed on dispose.</summary>
    Local,
}
