namespace EventSourcing.Testing.Postgres;

/// <summary>Where the server behind a <see cref="PostgresServer"/> comes from.</summary>
public enum PostgresServerKind
{
    /// <summary>A server named by an environment variable, used as it is and never stopped.</summary>
    External,

    /// <summary>A throwaway cluster from the installed binaries, in a temp folder removed on dispose.</summary>
    LocalCluster,

    /// <summary>A throwaway Docker container started through Testcontainers.</summary>
    Container,
}
