namespace EventSourcing.Commands;

/// <summary>A command failed validation: nothing was loaded, decided or stored.</summary>
public sealed class CommandValidationException : Exception
{
    /// <summary>Creates the error for <paramref name="commandName"/> with the failing properties and their messages.</summary>
    public CommandValidationException(string commandName, IReadOnlyDictionary<string, string[]> errors)
        : base($"{commandName} is invalid: {string.Join("; ", errors.Select(pair => $"{pair.Key}: {string.Join(" ", pair.Value)}"))}")
    {
        CommandName = commandName;
        Errors = errors;
    }

    /// <summary>The command type's name.</summary>
    public string CommandName { get; }

    /// <summary>Every failing property (as the validator names it) with all of its messages.</summary>
    public IReadOnlyDictionary<string, string[]> Errors { get; }
}
