namespace EventSourcing.Events;

/// <summary>An event type name or CLR type that is not registered in the <see cref="EventTypeRegistry"/>.</summary>
public sealed class UnknownEventTypeException : Exception
{
    /// <summary>Creates the error for a stored type name that no registration, alias or upcaster knows.</summary>
    public UnknownEventTypeException(string eventTypeName)
        : base($"Event type name '{eventTypeName}' is not registered. Register the type with EventTypeRegistry.Register<T>(\"{eventTypeName}\"), add the name as an alias of its new type, or add an upcaster from it.")
    {
        EventTypeName = eventTypeName;
    }

    /// <summary>Creates the error for a CLR type that has no registered name.</summary>
    public UnknownEventTypeException(Type clrType)
        : base($"Event type {clrType.FullName} has no registered name. Register it once at start-up, for example Register<{clrType.Name}>(\"{EventTypeRegistry.SuggestName(clrType)}\").")
    {
        EventTypeName = clrType.FullName ?? clrType.Name;
        ClrType = clrType;
    }

    /// <summary>The unknown stored name, or the CLR type's full name.</summary>
    public string EventTypeName { get; }

    /// <summary>The unregistered CLR type, when the error came from writing an event.</summary>
    public Type? ClrType { get; }
}
