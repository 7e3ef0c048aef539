namespace EventSourcing.Deciders;

/// <summary>A command breaks a business rule in the stream's current state. Nothing is stored.</summary>
public class DomainException : Exception
{
    /// <summary>Creates the error with a message fit to show the caller.</summary>
    public DomainException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the error with a message and a cause.</summary>
    public DomainException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the error with a default message.</summary>
    public DomainException()
        : base("The command breaks a business rule.")
    {
    }
}
