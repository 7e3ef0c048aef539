using System.Buffers;
using System.Buffers.Binary;
using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace EventSourcing.Privacy;

/// <summary>
/// Format version 2 of personal data in events: the values of one subject in one event sealed together, in one AES-GCM
/// operation, instead of one each.
/// <list type="bullet">
/// <item>Writing an event (inside <see cref="PersonalDataJson.SealPerEvent"/>), each personal value is written as a
/// reference, <c>es-pd:ref:{group}:{value}</c> (indexes), and kept with a tag of the property it was written at; the
/// event's last property, <c>"#"</c>, is then written as an array of the sealed groups, one per subject
/// (<see cref="PersonalDataProtector.SealGroup"/>).</item>
/// <item>Stored, the <c>"#"</c> property comes first: the event serializer moves it to the front, and PostgreSQL's
/// <c>jsonb</c> puts it there by itself (it orders keys by length, and no other key of one character sorts before
/// <c>#</c>). Reading, the event serializer opens the groups into this thread's read state before the event is read
/// (<see cref="Open"/>), and each reference then reads its value, checked to have been written at the property it is
/// read at.</item>
/// </list>
/// System.Text.Json writes and reads one object graph on one thread, synchronously: the state is per thread, in buffers
/// reused from one event to the next.
/// </summary>
internal static class SealedGroups
{
    /// <summary>The event property that holds the sealed groups.</summary>
    public const string PropertyName = "#";

    /// <summary>The longest reference: the prefix, a group's index, a colon, a value's index.</summary>
    private const int MaxReferenceLength = 10 + 10 + 1 + 10;

    /// <summary>The bytes of a value's header in a group: the tag of where it was written, and the length of its JSON.</summary>
    private const int HeaderLength = 8;

    private static readonly AsyncLocal<bool> Sealing = new();

    [ThreadStatic]
    private static Writing? _writing;

    [ThreadStatic]
    private static bool _sealingHere;

    [ThreadStatic]
    private static Reading? _reading;

    /// <summary>Whether events written on this flow (or, synchronously, on this thread) now seal each subject's values together.</summary>
    public static bool IsSealing => _sealingHere || Sealing.Value;

    /// <summary>Whether this thread's read opened the groups of the event it reads (references then resolve strictly).</summary>
    public static bool IsOpen => _reading is { Strict: true };

    /// <summary>Events written on this flow seal each subject's values together (or not); returns what it was before.</summary>
    public static bool Set(bool sealing)
    {
        var previous = Sealing.Value;
        Sealing.Value = sealing;
        return previous;
    }

    /// <summary>
    /// Events written on this thread seal each subject's values together until the scope ends: for a synchronous write
    /// (the event serializer's), which needs no flow to carry the mark (setting an <see cref="AsyncLocal{T}"/> allocates).
    /// </summary>
    public static HereScope SealHere()
    {
        var previous = _sealingHere;
        _sealingHere = true;
        return new HereScope(previous);
    }

    /// <summary>An event type holding personal data begins to be written: the outermost one on the thread owns the groups.</summary>
    public static void EventWriting()
    {
        if (_writing is { Active: true } writing)
        {
            writing.Nested++;
        }
        else if (IsSealing)
        {
            (_writing ??= new Writing()).Start();
        }
    }

    /// <summary>An event type holding personal data is written; the groups were written before this, by its owner.</summary>
    public static void EventWritten()
    {
        if (_writing is { Active: true, Nested: > 0 } writing)
        {
            writing.Nested--;
        }
    }

    /// <summary>
    /// Keeps <paramref name="value"/> of <paramref name="subject"/>, written at the property tagged <paramref name="scopeTag"/>, for the event's group
    /// and writes the reference to it in its place; false (nothing written) when no event on this thread is sealing groups
    /// (the value is protected alone).
    /// </summary>
    public static bool TryAdd<T>(Utf8JsonWriter writer, T value, JsonTypeInfo<T> typeInfo, string subject, byte[] scopeTag, bool erasedValue)
    {
        if (_writing is not { Active: true, SerializingValue: false } writing)
        {
            return false; // not in an event, or inside a value being kept (its own values are sealed alone, inside it)
        }

        var (group, groupIndex) = writing.GroupOf(subject);
        var start = writing.Json.WrittenCount;
        writing.SerializingValue = true;
        try
        {
            writing.ValueWriter.Reset(writing.Json);
            JsonSerializer.Serialize(writing.ValueWriter, value, typeInfo);
            writing.ValueWriter.Flush();
        }
        finally
        {
            writing.SerializingValue = false;
        }

        var index = group.Add(new Kept(scopeTag, start, writing.Json.WrittenCount - start), erasedValue);
        Span<byte> reference = stackalloc byte[MaxReferenceLength];
        var length = ReferenceTo(groupIndex, index, reference);
        writer.WriteStringValue(reference[..length]);
        return true;
    }

    /// <summary>Whether the event being written (its outermost one) has groups to write now; ends the writing when not.</summary>
    public static bool HasGroupsToWrite()
    {
        if (_writing is not { Active: true, Nested: 0 } writing)
        {
            return false;
        }

        if (writing.Groups.Count == 0)
        {
            writing.End();
            return false;
        }

        return true;
    }

    /// <summary>Seals the groups of the event being written and writes them as an array of strings; ends the writing.</summary>
    public static void WriteGroups(Utf8JsonWriter writer, PersonalDataProtector protector)
    {
        var writing = _writing!;
        try
        {
            writer.WriteStartArray();
            var json = writing.Json.WrittenSpan;
            foreach (var group in writing.Groups)
            {
                writing.Plain.ResetWrittenCount();
                foreach (var kept in group.Values)
                {
                    Encode(writing.Plain, kept.ScopeTag, json.Slice(kept.Start, kept.Length));
                }

                writing.Sealed.ResetWrittenCount();
                try
                {
                    protector.SealGroup(group.Subject, group.Token, writing.Plain.WrittenSpan, writing.Sealed);
                }
                catch (SubjectForgottenException) when (group.AllErased)
                {
                    writing.Sealed.ResetWrittenCount();
                    PersonalDataProtector.WriteErasedGroup(group.Token, writing.Sealed); // erased values written again: nothing personal left
                }

                writer.WriteStringValue(writing.Sealed.WrittenSpan);
            }

            writer.WriteEndArray();
        }
        finally
        {
            writing.Plain.Clear(); // the values' plaintext does not stay in memory after the write
            writing.End();
        }
    }

    /// <summary>
    /// Opens the groups of an event before it is read (its <c>"#"</c> property comes first in the JSON), into this thread's
    /// read state, which then resolves every reference strictly; in a sealed read (<see cref="SealedReads"/>) nothing is
    /// opened (references read as placeholders). A read that did not open them (a reader of its own, such as Marten's
    /// own event loading) reads references as placeholders too. Reading the event's <c>"#"</c> property itself skips it:
    /// System.Text.Json reads it after the constructor's arguments, too late for the values.
    /// </summary>
    public static void Open(ReadOnlySpan<byte> json, PersonalDataProtector protector, string location)
    {
        var reading = OpenNone();
        if (SealedReads.IsActive)
        {
            return;
        }

        var reader = new Utf8JsonReader(json);
        if (!reader.Read() || !reader.Read() || !reader.Read() || reader.TokenType != JsonTokenType.StartArray)
        {
            throw new PersonalDataTamperedException(location);
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.String)
        {
            byte[]? copied = null;
            var text = reader.HasValueSequence || reader.ValueIsEscaped
                ? (copied = ArrayPool<byte>.Shared.Rent(reader.HasValueSequence ? checked((int)reader.ValueSequence.Length) : reader.ValueSpan.Length)).AsSpan(0, reader.CopyString(copied))
                : reader.ValueSpan;
            try
            {
                reading.Add(text, protector, location);
            }
            finally
            {
                if (copied is not null)
                {
                    ArrayPool<byte>.Shared.Return(copied);
                }
            }
        }

        if (reader.TokenType != JsonTokenType.EndArray)
        {
            throw new PersonalDataTamperedException(location);
        }
    }

    /// <summary>Starts a read of an event with no groups (yet): references in it resolve strictly, to what <see cref="Open"/> adds.</summary>
    public static Reading OpenNone()
    {
        var reading = _reading ??= new Reading();
        reading.Clear();
        reading.Strict = true;
        return reading;
    }

    /// <summary>Whether <paramref name="json"/> is an object whose first property is <c>"#"</c>, the groups of format version 2.</summary>
    public static bool StartsWithGroups(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        return reader.Read() && reader.TokenType == JsonTokenType.StartObject
            && reader.Read() && reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("#"u8);
    }

    /// <summary>
    /// Reads the value the reference (<paramref name="reference"/>, UTF-8: <c>es-pd:ref:{group}:{value}</c>) at the
    /// property tagged <paramref name="scopeTag"/> stands for, as <paramref name="typeInfo"/>: its subject, and whether it
    /// was erased (then the value is default). Throws <see cref="PersonalDataTamperedException"/> when the reference names
    /// no value of the event's groups, or one written at another property.
    /// </summary>
    public static T? Resolve<T>(ReadOnlySpan<byte> reference, byte[] scopeTag, string scopeName, JsonTypeInfo<T> typeInfo, out string subject, out bool erased)
    {
        var indexes = reference[PersonalDataProtector.ReferencePrefixBytes.Length..];
        if (_reading is not { Strict: true } reading
            || !Utf8Parser.TryParse(indexes, out int groupIndex, out var consumed) || consumed >= indexes.Length || indexes[consumed] != (byte)':'
            || !Utf8Parser.TryParse(indexes[(consumed + 1)..], out int index, out var valueDigits) || consumed + 1 + valueDigits != indexes.Length
            || (uint)groupIndex >= (uint)reading.Groups.Count)
        {
            throw new PersonalDataTamperedException($"{scopeName} (a reference to no sealed value of the event)");
        }

        var group = reading.Groups[groupIndex];
        subject = group.Subject;
        erased = group.Erased;
        if (erased)
        {
            return default;
        }

        if ((uint)index >= (uint)group.Values.Count || !reading.Bytes.AsSpan(group.Values[index].TagStart, 4).SequenceEqual(scopeTag))
        {
            throw new PersonalDataTamperedException($"{scopeName} (a reference to a value written elsewhere)");
        }

        var value = group.Values[index];
        return JsonSerializer.Deserialize(reading.Bytes.AsSpan(value.JsonStart, value.JsonLength), typeInfo);
    }

    /// <summary>Drops this thread's groups, written or read (a failed write or read, or a new read).</summary>
    public static void Reset()
    {
        _writing?.End();
        _reading?.Clear();
    }

    /// <summary>The reference to value <paramref name="index"/> of group <paramref name="group"/>, UTF-8, into <paramref name="destination"/>; its length.</summary>
    private static int ReferenceTo(int group, int index, Span<byte> destination)
    {
        var prefix = PersonalDataProtector.ReferencePrefixBytes;
        prefix.CopyTo(destination);
        Utf8Formatter.TryFormat(group, destination[prefix.Length..], out var groupDigits);
        destination[prefix.Length + groupDigits] = (byte)':';
        Utf8Formatter.TryFormat(index, destination[(prefix.Length + groupDigits + 1)..], out var digits);
        return prefix.Length + groupDigits + 1 + digits;
    }

    /// <summary>
    /// A value in a group: <c>[tag, 4 bytes][JSON length, 4 bytes][JSON]</c>, the tag being the first 4 bytes of the
    /// SHA-256 of where it was written (<c>Type.Property</c>).
    /// </summary>
    private static void Encode(ArrayBufferWriter<byte> buffer, byte[] scopeTag, ReadOnlySpan<byte> json)
    {
        var span = buffer.GetSpan(HeaderLength + json.Length);
        scopeTag.CopyTo(span);
        BinaryPrimitives.WriteInt32LittleEndian(span[4..], json.Length);
        json.CopyTo(span[HeaderLength..]);
        buffer.Advance(HeaderLength + json.Length);
    }

    /// <summary>The tag of a property in a group: the first 4 bytes of the SHA-256 of <c>Type.Property</c>.</summary>
    public static byte[] TagOf(string scope) => System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(scope))[..4];

    /// <summary>Ends a <see cref="SealHere"/>.</summary>
    public readonly struct HereScope(bool previous) : IDisposable
    {
        public void Dispose() => _sealingHere = previous;
    }

    /// <summary>A value kept for a group: the tag of where it was written, and where its JSON is in the thread's buffer.</summary>
    private readonly record struct Kept(byte[] ScopeTag, int Start, int Length);

    /// <summary>A value of an opened group: where its tag and JSON are in the thread's buffer.</summary>
    internal readonly record struct OpenedValue(int TagStart, int JsonStart, int JsonLength);

    /// <summary>One subject's values in the event being written.</summary>
    private sealed class Group
    {
        public string Subject { get; private set; } = string.Empty;

        public byte[] Token { get; private set; } = [];

        public List<Kept> Values { get; } = [];

        public bool AllErased { get; private set; }

        public void Start(string subject, byte[] token)
        {
            Subject = subject;
            Token = token;
            Values.Clear();
            AllErased = true;
        }

        public int Add(Kept kept, bool erasedValue)
        {
            Values.Add(kept);
            AllErased &= erasedValue;
            return Values.Count - 1;
        }
    }

    /// <summary>The groups of the event being written on this thread, in buffers reused from event to event.</summary>
    private sealed class Writing
    {
        private readonly List<Group> _spare = [];
        private string? _lastSubject;
        private byte[] _lastToken = [];

        public Writing() => ValueWriter = new Utf8JsonWriter(Json, new JsonWriterOptions { SkipValidation = true });

        public bool Active { get; private set; }

        public int Nested { get; set; }

        public bool SerializingValue { get; set; }

        public List<Group> Groups { get; } = [];

        /// <summary>The JSON of the values kept.</summary>
        public ArrayBufferWriter<byte> Json { get; } = new(512);

        /// <summary>A group's plaintext, while it is sealed.</summary>
        public ArrayBufferWriter<byte> Plain { get; } = new(512);

        /// <summary>A sealed group, UTF-8, while it is written.</summary>
        public ArrayBufferWriter<byte> Sealed { get; } = new(512);

        public Utf8JsonWriter ValueWriter { get; }

        public void Start()
        {
            Active = true;
            Nested = 0;
            Groups.Clear();
            Json.ResetWrittenCount();
        }

        public void End()
        {
            Active = false;
            Nested = 0;
            SerializingValue = false;
            _spare.AddRange(Groups);
            Groups.Clear();
            Json.Clear(); // the values' JSON does not stay in memory after the write
        }

        public (Group Group, int Index) GroupOf(string subject)
        {
            for (var i = 0; i < Groups.Count; i++)
            {
                if (Groups[i].Subject == subject)
                {
                    return (Groups[i], i);
                }
            }

            if (subject != _lastSubject)
            {
                _lastToken = Encoding.UTF8.GetBytes(Base64Url.EncodeToString(Encoding.UTF8.GetBytes(subject)));
                _lastSubject = subject;
            }

            var group = _spare.Count > 0 ? _spare[^1] : new Group();
            if (_spare.Count > 0)
            {
                _spare.RemoveAt(_spare.Count - 1);
            }

            group.Start(subject, _lastToken);
            Groups.Add(group);
            return (group, Groups.Count - 1);
        }
    }

    /// <summary>The groups opened for the event being read on this thread: their plaintext in one buffer, reused.</summary>
    internal sealed class Reading
    {
        private readonly ArrayBufferWriter<byte> _bytes = new(512);
        private byte[] _view = [];

        public bool Strict { get; set; }

        /// <summary>The buffer the opened values are in (valid until the next <see cref="Clear"/> or <see cref="Add"/>).</summary>
        public byte[] Bytes => _view;

        public void Clear()
        {
            Strict = false;
            Groups.Clear();
            _bytes.Clear();
            _view = [];
        }

        /// <summary>The groups opened, in the order of the event's <c>"#"</c> array (references name them by index).</summary>
        public List<OpenedGroup> Groups { get; } = [];

        /// <summary>Opens one group (UTF-8) and adds its values.</summary>
        public void Add(ReadOnlySpan<byte> text, PersonalDataProtector protector, string location)
        {
            var plainStart = _bytes.WrittenCount;
            var opened = protector.TryOpenGroup(text, location, _bytes, out var subject, out _);
            var values = new List<OpenedValue>();
            if (opened)
            {
                var plain = _bytes.WrittenSpan[plainStart..];
                var at = 0;
                while (at < plain.Length)
                {
                    var jsonLength = plain.Length - at >= HeaderLength ? BinaryPrimitives.ReadInt32LittleEndian(plain[(at + 4)..]) : -1;
                    if (jsonLength < 0 || plain.Length - at - HeaderLength < jsonLength)
                    {
                        throw new PersonalDataTamperedException(location);
                    }

                    values.Add(new OpenedValue(plainStart + at, plainStart + at + HeaderLength, jsonLength));
                    at += HeaderLength + jsonLength;
                }
            }

            Groups.Add(new OpenedGroup(subject, !opened, values));
            _view = System.Runtime.InteropServices.MemoryMarshal.TryGetArray(_bytes.WrittenMemory, out var segment) ? segment.Array! : _bytes.WrittenSpan.ToArray();
        }
    }

    /// <summary>An opened group: its subject, whether erased, and its values.</summary>
    internal sealed record OpenedGroup(string Subject, bool Erased, List<OpenedValue> Values);
}

/// <summary>The converter of an event's <c>"#"</c> property: writes its sealed groups (<see cref="SealedGroups"/>); reading skips it (the groups are opened before the event is read).</summary>
internal sealed class SealedGroupsConverter(Func<PersonalDataProtector> protector) : JsonConverter<SealedGroupsConverter.Marker>
{
    public override bool HandleNull => true;

    public override Marker? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        reader.Skip(); // opened before the event is read (SealedGroups.Open)
        return Marker.Instance;
    }

    public override void Write(Utf8JsonWriter writer, Marker value, JsonSerializerOptions options)
    {
        try
        {
            SealedGroups.WriteGroups(writer, protector());
        }
        catch
        {
            PersonalDataScope.Reset(); // the whole write fails: leave nothing behind for the next one on this thread
            throw;
        }
    }

    /// <summary>Opens the groups at the front of an event's <paramref name="json"/> for the read that follows.</summary>
    public void Open(ReadOnlySpan<byte> json, string location) => SealedGroups.Open(json, protector(), location);

    /// <summary>The value of the <c>"#"</c> property as the object sees it: nothing (the groups live in the thread's state).</summary>
    public sealed class Marker
    {
        public static readonly Marker Instance = new();
    }
}
