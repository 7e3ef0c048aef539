using System.Text.Json;
using System.Text.Json.Nodes;

namespace EventSourcing.Events;

/// <summary>The default <see cref="IEventSerializer"/>: System.Text.Json with web defaults (camelCase).</summary>
internal sealed class SystemTextJsonEventSerializer : IEventSerializer
{
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
        return new SerializedEvent(name, JsonSerializer.SerializeToUtf8Bytes(data, type, _options));
    }

    /// <inheritdoc />
    public DeserializedEvent Deserialize(string eventType, ReadOnlySpan<byte> data)
    {
        ArgumentException.ThrowIfNullOrEmpty(eventType);
        var type = _registry.Resolve(eventType, out var upcasters);
        using var read = Privacy.PersonalDataJson.BeginRead();
        try
        {
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
}
