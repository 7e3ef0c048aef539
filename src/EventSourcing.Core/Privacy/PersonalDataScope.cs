namespace EventSourcing.Privacy;

/// <summary>
/// Per-thread state of one serialization. System.Text.Json serializes an object graph on one thread, synchronously.
/// <list type="bullet">
/// <item>Writing: the data subject of the objects being written (innermost wins), and the subjects whose values are to
/// be written erased (<see cref="EraseWhileWriting"/>, or all of them: <see cref="EraseAllWhileWriting"/>).</item>
/// <item>Reading: every protected value read (its subject, and whether it was erased) is an entry, until the object
/// that owns it checks it. An object with a <see cref="DataSubjectAttribute"/> checks that every value read inside it
/// belongs to its subject and consumes them; an object with only a <see cref="PersonalDataErasedAttribute"/> flag
/// claims them (they stay for the subject around it to check). Every property whose value may hold such objects marks
/// where its reading begins (<see cref="Begin"/>), so an object never takes what its parent read before it, and
/// claimed entries and summaries carry the depth they were made at, so a collection's elements never take each
/// other's. The outermost object clears everything, so nothing leaks into the next read on the thread.</item>
/// </list>
/// </summary>
internal static class PersonalDataScope
{
    /// <summary>Entries not yet claimed by any object.</summary>
    private const int Unclaimed = int.MaxValue;

    /// <summary>Deeper than any JSON System.Text.Json reads (64 by default): marks below that are from failed reads.</summary>
    private const int MaxMarks = 256;

    [ThreadStatic]
    private static Stack<string?>? _subjects;

    [ThreadStatic]
    private static List<Entry>? _entries;

    [ThreadStatic]
    private static Stack<int>? _marks;

    [ThreadStatic]
    private static bool _outermostErased;

    [ThreadStatic]
    private static IReadOnlySet<string>? _erasing;

    [ThreadStatic]
    private static bool _erasingAll;

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

    /// <summary>Whether values of <paramref name="subject"/> are written erased on this thread now.</summary>
    public static bool IsErasing(string subject) => _erasingAll || _erasing?.Contains(subject) == true;

    /// <summary>
    /// Until disposed, values of <paramref name="subjects"/> written on this thread are written as the erased marker, not
    /// encrypted (System.Text.Json writes a value on the calling thread, synchronously).
    /// </summary>
    public static ErasingScope EraseWhileWriting(IReadOnlySet<string> subjects)
    {
        var scope = new ErasingScope(_erasing, _erasingAll);
        _erasing = subjects;
        return scope;
    }

    /// <summary>
    /// Until disposed, every personal value written on this thread is written as the erased marker, whatever its subject:
    /// nothing is encrypted and no key is needed (a redacted copy of an event).
    /// </summary>
    public static ErasingScope EraseAllWhileWriting()
    {
        var scope = new ErasingScope(_erasing, _erasingAll);
        _erasingAll = true;
        return scope;
    }

    public static void Enter(string? subject) => (_subjects ??= new Stack<string?>()).Push(subject);

    public static void Leave() => _subjects?.TryPop(out _);

    /// <summary>A protected value of <paramref name="subject"/> was read at <paramref name="scope"/> (erased when its key is gone).</summary>
    public static void Read(string subject, string scope, bool erased) => (_entries ??= []).Add(new Entry(subject, scope, erased, Unclaimed));

    /// <summary>A value stored as the erased marker was read (it names no subject any more).</summary>
    public static void ReadErasedMarker(string scope) => (_entries ??= []).Add(new Entry(null, scope, true, Unclaimed));

    /// <summary>The reading of a property value that may hold objects with a subject or an erased flag begins.</summary>
    public static void Begin()
    {
        var marks = _marks ??= new Stack<int>();
        if (marks.Count >= MaxMarks)
        {
            marks.Clear();
        }

        marks.Push(_entries?.Count ?? 0);
    }

    /// <summary>
    /// The property value begun last is read. When it was the outermost one and the object holding it checks nothing
    /// itself (<paramref name="holderChecks"/> false), nothing is left for anyone to check: clears.
    /// </summary>
    public static void End(bool holderChecks)
    {
        _marks?.TryPop(out _);
        if (_marks is not { Count: > 0 } && !holderChecks)
        {
            FinishOutermost(_entries is { } entries && entries.Exists(e => e.Erased));
        }
    }

    /// <summary>
    /// An object with a subject (<paramref name="hasSubject"/>) or an erased flag is read: checks (with a subject) that
    /// every value read inside it belongs to <paramref name="subject"/>, and returns whether any of them was erased.
    /// </summary>
    public static bool EndObject(bool hasSubject, string? subject, string objectType)
    {
        var depth = _marks?.Count ?? 0;
        var from = depth > 0 && _marks!.TryPeek(out var mark) ? mark : 0;
        var erased = false;
        string? foreign = null;
        if (_entries is { } entries)
        {
            from = Math.Min(from, entries.Count);
            for (var i = from; i < entries.Count; i++)
            {
                var entry = entries[i];
                if (entry.Depth <= depth)
                {
                    continue; // claimed by a sibling before it: the object around them checks it
                }

                erased |= entry.Erased;
                if (hasSubject)
                {
                    foreign ??= entry.Subject is not null && entry.Subject != subject ? entry.Scope : null;
                }
                else
                {
                    entries[i] = entry with { Depth = depth };
                }
            }

            if (hasSubject)
            {
                entries.RemoveFrom(from, e => e.Depth > depth);
            }
        }

        if (foreign is not null)
        {
            Reset();
            throw new PersonalDataTamperedException($"{foreign} (a value of another data subject inside a {objectType})");
        }

        if (depth == 0)
        {
            FinishOutermost(erased);
        }
        else if (hasSubject && erased)
        {
            _entries!.Add(new Entry(null, objectType, true, depth)); // for the objects around it
        }

        return erased;
    }

    /// <summary>Whether the outermost object read since the last call met an erased value; resets it.</summary>
    public static bool TakeErased()
    {
        var erased = _outermostErased || (_entries is { } entries && entries.Exists(e => e.Erased));
        _outermostErased = false;
        return erased;
    }

    /// <summary>Drops what an earlier, failed read left behind.</summary>
    public static void Reset()
    {
        SealedGroups.Reset();
        _entries?.Clear();
        _subjects?.Clear();
        _marks?.Clear();
        _outermostErased = false;
    }

    private static void FinishOutermost(bool erased)
    {
        _entries?.Clear();
        _outermostErased |= erased;
    }

    private static void RemoveFrom(this List<Entry> entries, int from, Predicate<Entry> match)
    {
        var kept = from;
        for (var i = from; i < entries.Count; i++)
        {
            if (!match(entries[i]))
            {
                entries[kept++] = entries[i];
            }
        }

        entries.RemoveRange(kept, entries.Count - kept);
    }

    /// <summary>Ends an <see cref="EraseWhileWriting"/>.</summary>
    public readonly struct ErasingScope(IReadOnlySet<string>? previous, bool previousAll) : IDisposable
    {
        public void Dispose() => (_erasing, _erasingAll) = (previous, previousAll);
    }

    /// <summary>One value read: its subject (null for an erased marker or a summary), where, whether erased, and the depth of the object that claimed it.</summary>
    private readonly record struct Entry(string? Subject, string Scope, bool Erased, int Depth);
}
