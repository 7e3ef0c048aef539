using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using EventSourcing.Privacy;

namespace EventSourcing.Events;

/// <summary>The default <see cref="IEventSerializer"/>: System.Text.Json with web defaults (camelCase).</summary>
internal sealed class SystemTextJsonEventSerializer : IEventSerializer
{
    [ThreadStatic]
    private static Output? _output;

    private readonly EventTypeRegistry _registry;
    private readonly JsonSerializerOptions _options;

    /// <summary>Creates a serializer over <paramref name="registry"/>; <paramref name="options"/> defaults to <see cref="JsonSerializerDefaults.Web"/>.</summary>
    public SystemTextJsonEventSerializer(EventTypeRegistry registry, JsonSerializerOptions? options = null)
    {
        _registry = registry ?? throw new ArgumentNullException(nameof(registry));
        _options = options ?? new JsonSerializerOptions(JsonSerializerDefaults.Web);
        _options.MakeReadOnly(populateMissingResolver: true);
    }

    /// <summary>The JSON options in use (read-only).</summary>
    public JsonSerializerOptions Options => _options;

    /// <inheritdoc />
    public SerializedEvent Serialize(object data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var type = data.GetType();
        var name = _registry.GetName(type);
        var output = _output ??= new Output();
        var writer = output.WriterFor(_options);
        using (SealedGroups.SealHere())
        {
            JsonSerializer.Serialize(writer, data, _options.GetTypeInfo(type));
            writer.Flush();
        }

        return new SerializedEvent(name, SealedGroupsFirst(output.Buffer.WrittenSpan));
    }

    /// <summary>
    /// The event's JSON with its <c>"#"</c> property of sealed personal data (written last) moved to the front, so that
    /// any reader meets the groups before the values that refer to them; JSON without one as it is, copied.
    /// </summary>
    internal static byte[] SealedGroupsFirst(ReadOnlySpan<byte> json)
    {
        if (json.IndexOf("\"#\""u8) < 0)
        {
            return json.ToArray();
        }

        var reader = new Utf8JsonReader(json);
        reader.Read(); // the event's object
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var start = (int)reader.TokenStartIndex;
            var isGroups = reader.ValueTextEquals(PersonalDataJson.SealedGroupsPropertyUtf8);
            reader.Read();
            reader.Skip();
            if (!isGroups)
            {
                continue;
            }

            var end = (int)reader.BytesConsumed;
            var before = json[1..start].TrimEnd(" \r\n\t"u8).TrimEnd(","u8); // the properties before it, without the comma
            if (before.IsEmpty)
            {
                return json.ToArray(); // already first
            }

            var groups = json[start..end];
            var after = json[end..];
            var result = new byte[1 + groups.Length + 1 + before.Length + after.Length];
            result[0] = (byte)'{';
            groups.CopyTo(result.AsSpan(1));
            result[1 + groups.Length] = (byte)',';
            before.CopyTo(result.AsSpan(2 + groups.Length));
            after.CopyTo(result.AsSpan(2 + groups.Length + before.Length));
            return result;
        }

        return json.ToArray();
    }

    /// <inheritdoc />
    public DeserializedEvent Deserialize(string eventType, ReadOnlySpan<byte> data)
    {
        ArgumentException.ThrowIfNullOrEmpty(eventType);
        var type = _registry.Resolve(eventType, out var upcasters);
        using var read = PersonalDataJson.BeginRead();
        try
        {
            PersonalDataJson.OpenSealedGroups(data, _options.GetTypeInfo(type), eventType);
            if (upcasters.Count == 0)
            {
                var value = JsonSerializer.Deserialize(data, type, _options);
                return new DeserializedEvent(eventType, value ?? throw new JsonException("The stored event is JSON null."))
                {
                    PersonalDataErased = read.Erased,
                };
            }

            var json = JsonNode.Parse(data) as JsonObject ?? throw new JsonException("The stored event is not a JSON object.");
            foreach (var upcaster in upcasters)
            {
                json = upcaster.Upcast(json);
            }

            var upcast = json.Deserialize(type, _options) ?? throw new JsonException("The upcast event is JSON null.");
            return new DeserializedEvent(upcasters[^1].ToName, upcast) { PersonalDataErased = read.Erased };
        }
        catch (JsonException exception)
        {
            throw new EventDeserializationException(eventType, type, exception);
        }
    }

    /// <summary>A thread's buffer and writer for serializing events, reused from one event to the next.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001:Types that own disposable fields should be disposable", Justification = "One per thread, for the thread's life; the writer holds only this buffer, nothing to release.")]
    private sealed class Output
    {
        private Utf8JsonWriter? _writer;
        private JsonSerializerOptions? _writerFor;

        public ArrayBufferWriter<byte> Buffer { get; } = new(1024);

        /// <summary>The writer, emptied, writing as <paramref name="options"/> say.</summary>
        public Utf8JsonWriter WriterFor(JsonSerializerOptions options)
        {
            Buffer.ResetWrittenCount();
            if (_writer is null || !ReferenceEquals(_writerFor, options))
            {
                _writer = new Utf8JsonWriter(Buffer, new JsonWriterOptions
                {
                    Encoder = options.Encoder,
                    Indented = options.WriteIndented,
                    IndentCharacter = options.IndentCharacter,
                    IndentSize = options.IndentSize,
                    NewLine = options.NewLine,
                    MaxDepth = options.MaxDepth,
                });
                _writerFor = options;
            }
            else
            {
                _writer.Reset(Buffer);
            }

            return _writer;
        }
    }
}
