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

    [ThreadStatic]
    private static List<(string Subject, string Scope)>? _read;

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

    /// <summary>Notes that a value of <paramref name="subject"/> was read at <paramref name="scope"/>, for the object around it to check.</summary>
    public static void RecordRead(string subject, string scope) => (_read ??= []).Add((subject, scope));

    /// <summary>
    /// Checks that every value read since the last check belongs to <paramref name="subject"/> (the object that holds them),
    /// then forgets them. Objects with a subject of their own check theirs first, as they finish reading before their parent.
    /// </summary>
    public static void CheckReads(string? subject, string objectType)
    {
        if (_read is not { Count: > 0 } read)
        {
            return;
        }

        var foreign = read.FindIndex(r => r.Subject != subject);
        var scope = foreign >= 0 ? read[foreign].Scope : null;
        read.Clear();
        if (scope is not null)
        {
            throw new PersonalDataTamperedException($"{scope} (a value of another data subject inside a {objectType})");
        }
    }

    /// <summary>Drops what an earlier, failed read left behind.</summary>
    public static void Reset()
    {
        _read?.Clear();
        _subjects?.Clear();
        _erased = 0;
    }

    /// <summary>How many values were read as erased since the last call; resets the count.</summary>
    public static int TakeErased()
    {
        var erased = _erased;
        _erased = 0;
        return erased;
    }
}
