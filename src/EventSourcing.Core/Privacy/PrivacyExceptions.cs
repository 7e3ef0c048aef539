namespace EventSourcing.Privacy;

/// <summary>Ciphertext of personal data failed authentication: it was altered, or moved to another subject, type or property.</summary>
public sealed class PersonalDataTamperedException : Exception
{
    /// <summary>Creates the error for <paramref name="location"/> (the event or document being read, when known).</summary>
    public PersonalDataTamperedException(string location, Exception? innerException = null)
        : base($"Personal data in {location} failed authentication: the ciphertext was altered or moved from another subject, type or property.", innerException)
    {
        Location = location;
    }

    /// <summary>Creates the error.</summary>
    public PersonalDataTamperedException()
        : this("the value")
    {
    }

    /// <summary>Where the tampered value was read.</summary>
    public string Location { get; }
}

/// <summary>Personal data of a forgotten subject was to be written, and <see cref="PersonalDataOptions.AllowNewKeyAfterForget"/> is off.</summary>
public sealed class SubjectForgottenException(string subjectId)
    : Exception($"Data subject '{subjectId}' has been forgotten; new personal data of theirs is not accepted.")
{
    /// <summary>The forgotten subject.</summary>
    public string SubjectId { get; } = subjectId;
}
