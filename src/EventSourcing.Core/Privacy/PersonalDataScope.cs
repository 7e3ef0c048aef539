namespace EventSourcing.Privacy;

/// <summary>
/// Per-thread state of one serialization: the data subject of the objects being written (innermost wins), and how
/// many values were read as erased. System.Text.Json serializes an object graph on one thread, synchronously.
/// </summary>
internal static class PersonalDataScope
{
    [ThreadStatic]
    private static Stack<string?>? _subjects;

    [ThreadStatic]
    private static int _erased;

    /// <summary>The subject of the innermost object being written that names one.</summary>
    public static string? CurrentSubject
    {
        get
        {
            if (_subjects is null)
            {
                return null;
            }

            foreach (var subject in _subjects)
            {
                if (subject is not null)
                {
                    return subject;
                }
            }

            return null;
        }
    }

    public static void Enter(string? subject) => (_subjects ??= new Stack<string?>()).Push(subject);

    public static void Leave() => _subjects?.TryPop(out _);

    public static void CountErased() => _erased++;

    /// <summary>How many values were read as erased since the last call; resets the count.</summary>
    public static int TakeErased()
    {
        var erased = _erased;
        _erased = 0;
        return erased;
    }
}
