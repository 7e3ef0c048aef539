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

/// <summary>
/// A query of views compared a <see cref="PersonalDataAttribute"/> field. Such a field is stored encrypted, with a fresh
/// nonce per value, so no store can compare it (PostgreSQL would silently match nothing, memory would match the
/// decrypted value); every store refuses the query alike.
/// </summary>
public sealed class PersonalDataQueryException : NotSupportedException
{
    /// <summary>Creates the error for <paramref name="member"/> (<c>Type.Property</c>).</summary>
    public PersonalDataQueryException(string member)
        : base($"Views cannot be queried by {member}: it is [PersonalData], stored encrypted under its data subject's key with a fresh " +
            "nonce per value, so a store cannot compare it (PostgreSQL would match nothing; no index of it is kept, as one would outlive " +
            "a forget). Query by fields that are not personal (an id, the [DataSubject]) and compare personal values on the views returned.")
    {
        Member = member;
    }

    /// <summary>Creates the error.</summary>
    public PersonalDataQueryException()
        : this("a personal field")
    {
    }

    /// <summary>The personal field the query compared (<c>Type.Property</c>).</summary>
    public string Member { get; }
}
