namespace EventSourcing.Testing.Postgres;

/// <summary>How <see cref="PostgresServer.StopAsync"/> stops the server (the modes of <c>pg_ctl stop -m</c>).</summary>
public enum PostgresStopMode
{
    /// <summary>Ends every session (their transactions roll back) and shuts down cleanly: a planned restart or failover.</summary>
    Fast,

    /// <summary>Aborts every server process at once, as a crash would; the next start recovers from the write-ahead log.</summary>
    Immediate,
}
