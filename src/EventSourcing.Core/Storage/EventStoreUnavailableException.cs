namespace EventSourcing.Storage;

/// <summary>
/// The store could not be reached (connection refused or lost, server shutting down, timeout). Transient:
/// the operation may be retried. When it was an append, whether it was stored is unknown; retrying with the same
/// command id (<see cref="Events.EventMetadata.CommandId"/>) stores it at most once.
/// </summary>
public sealed class EventStoreUnavailableException : Exception
{
    /// <summary>Creates the error with its cause.</summary>
    public EventStoreUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the error.</summary>
    public EventStoreUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the error with a default message.</summary>
    public EventStoreUnavailableException()
        : base("The event store is unavailable.")
    {
    }

}
