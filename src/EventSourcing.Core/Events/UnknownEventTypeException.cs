namespace EventSourcing.Events;

/// <summary>An event type name or CLR type that is not registered in the <see cref="EventTypeRegistry"/>.</summary>
public sealed class UnknownEventTypeException : Exception
{
    /// <summary>Creates the error for a stored type name that no registration, alias or upcaster knows.</summary>
    public UnknownEventTypeException(string eventTypeName)
        : base($"Event type name '{eventTypeName}' is not registered. Name the type that reads it with [EventType(\"{eventTypeName}\")] (or AddEvent<T>(\"{eventTypeName}\") in AddEventSourcing), add the name as an alias of its new type ([EventType(\"new-name.v2\", \"{eventTypeName}\")]), or add an upcaster from it (builder.Events.AddUpcaster).")
    {
        EventTypeName = eventTypeName;
    }

    /// <summary>Creates the error for a CLR type that has no registered name.</summary>
    public UnknownEventTypeException(Type clrType)
        : base($"Event type {clrType.FullName} has no registered name. Name it once, for example [EventType(\"{EventTypeRegistry.SuggestName(clrType)}\")] on the type (registered with its decider, or by AddEventTypesFrom), or AddEvent<{clrType.Name}>(\"{EventTypeRegistry.SuggestName(clrType)}\") in AddEventSourcing.")
    {
        EventTypeName = clrType.FullName ?? clrType.Name;
        ClrType = clrType;
    }

    /// <summary>The unknown stored name, or the CLR type's full name.</summary>
    public string EventTypeName { get; }

    /// <summary>The unregistered CLR type, when the error came from writing an event.</summary>
    public Type? ClrType { get; }
}
