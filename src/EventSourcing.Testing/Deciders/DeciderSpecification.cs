using System.Text.Json;
using EventSourcing.Deciders;

namespace EventSourcing.Testing.Deciders;

/// <summary>Starts Given/When/Then specifications of a decider.</summary>
public static class DeciderSpecification
{
    /// <summary>A specification of <paramref name="decider"/>: <c>For(decider).Given(events).When(command).Then(events)</c>.</summary>
    public static DeciderSpecification<TCommand, TEvent, TState> For<TCommand, TEvent, TState>(Decider<TCommand, TEvent, TState> decider) =>
        new(decider ?? throw new ArgumentNullException(nameof(decider)), [], default);
}

/// <summary>
/// A Given(events) / When(command) / Then(events), ThenState or ThenThrows specification of a decider: pure, no store.
/// Events are compared by type and by their JSON form, so records holding collections compare by content.
/// Failures throw <see cref="DeciderSpecificationException"/>, which every test framework reports.
/// </summary>
public sealed class DeciderSpecification<TCommand, TEvent, TState>
{
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);
    private readonly Decider<TCommand, TEvent, TState> _decider;
    private readonly TEvent[] _given;
    private readonly Maybe _when;

    internal DeciderSpecification(Decider<TCommand, TEvent, TState> decider, TEvent[] given, Maybe when)
    {
        _decider = decider;
        _given = given;
        _when = when;
    }

    /// <summary>The events already in the stream.</summary>
    public DeciderSpecification<TCommand, TEvent, TState> Given(params TEvent[] events) =>
        new(_decider, [.. _given, .. events ?? throw new ArgumentNullException(nameof(events))], _when);

    /// <summary>The command to decide.</summary>
    public DeciderSpecification<TCommand, TEvent, TState> When(TCommand command) => new(_decider, _given, new Maybe(command));

    /// <summary>Asserts that the command produces exactly <paramref name="expected"/>, in order (none: nothing to do).</summary>
    public void Then(params TEvent[] expected)
    {
        ArgumentNullException.ThrowIfNull(expected);
        IReadOnlyList<TEvent> actual;
        try
        {
            actual = Decide();
        }
        catch (Exception exception) when (exception is not DeciderSpecificationException)
        {
            throw new DeciderSpecificationException($"Expected {Describe(expected)} but the decider threw {exception.GetType().Name}: {exception.Message}", exception);
        }

        if (!expected.Select(Canonical).SequenceEqual(actual.Select(Canonical)))
        {
            throw new DeciderSpecificationException($"Expected {Describe(expected)}{Environment.NewLine}but got  {Describe(actual)}");
        }
    }

    /// <summary>Asserts that the command is refused with <typeparamref name="TException"/>, and returns it for further checks.</summary>
    public TException ThenThrows<TException>()
        where TException : Exception
    {
        IReadOnlyList<TEvent> actual;
        try
        {
            actual = Decide();
        }
        catch (TException exception)
        {
            return exception;
        }
        catch (Exception exception) when (exception is not DeciderSpecificationException)
        {
            throw new DeciderSpecificationException($"Expected {typeof(TException).Name} but the decider threw {exception.GetType().Name}: {exception.Message}", exception);
        }

        throw new DeciderSpecificationException($"Expected {typeof(TException).Name} but got {Describe(actual)}");
    }

    /// <summary>
    /// Asserts the stream's state after the command's events (after the given events alone, without <c>When</c>).
    /// States compare by <see cref="object.Equals(object)"/> or, failing that, by type and JSON form, so records holding
    /// collections compare by content.
    /// </summary>
    public void ThenState(TState expected)
    {
        var actual = StateAfter();
        if (!EqualityComparer<TState>.Default.Equals(expected, actual) && CanonicalState(expected) != CanonicalState(actual))
        {
            throw new DeciderSpecificationException($"Expected state {CanonicalState(expected)}{Environment.NewLine}but got        {CanonicalState(actual)}");
        }
    }

    /// <summary>Runs <paramref name="assertion"/> (any test framework's asserts) on the state after the command's events (after the given events alone, without <c>When</c>).</summary>
    public void ThenState(Action<TState> assertion)
    {
        ArgumentNullException.ThrowIfNull(assertion);
        assertion(StateAfter());
    }

    private TState StateAfter()
    {
        var state = _decider.Fold(_given);
        if (!_when.HasValue)
        {
            return state;
        }

        try
        {
            return _decider.Decide(_when.Command!, state).Aggregate(state, _decider.Evolve);
        }
        catch (Exception exception)
        {
            throw new DeciderSpecificationException($"Expected a state but the decider threw {exception.GetType().Name}: {exception.Message}", exception);
        }
    }

    private static string CanonicalState(TState? state) =>
        state is null ? "null" : $"{state.GetType().Name} {JsonSerializer.Serialize(state, state.GetType(), JsonOptions)}";

    private IReadOnlyList<TEvent> Decide()
    {
        if (!_when.HasValue)
        {
            throw new DeciderSpecificationException("The specification has no command: call When(command) before Then.");
        }

        return _decider.Decide(_when.Command!, _decider.Fold(_given));
    }

    private static string Canonical(TEvent? @event) =>
        @event is null ? "null" : $"{@event.GetType().Name} {JsonSerializer.Serialize(@event, @event.GetType(), JsonOptions)}";

    private static string Describe(IReadOnlyList<TEvent> events) =>
        events.Count == 0 ? "no events" : $"[{Environment.NewLine}  {string.Join($",{Environment.NewLine}  ", events.Select(Canonical))}{Environment.NewLine}]";

    internal readonly record struct Maybe(TCommand? Command)
    {
        public bool HasValue { get; } = true;
    }
}

/// <summary>A decider specification did not hold.</summary>
public sealed class DeciderSpecificationException : Exception
{
    /// <summary>Creates the failure.</summary>
    public DeciderSpecificationException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the failure with its cause.</summary>
    public DeciderSpecificationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates a failure with a default message.</summary>
    public DeciderSpecificationException()
        : base("The decider specification did not hold.")
    {
    }
}
