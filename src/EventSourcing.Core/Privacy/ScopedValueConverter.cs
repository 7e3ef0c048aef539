using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace EventSourcing.Privacy;

/// <summary>
/// Put on a property whose value may hold objects with a subject or an erased flag: reads and writes the value as its
/// own contract would, and marks where its reading begins and ends (<see cref="PersonalDataScope"/>), so what the
/// objects inside it check is exactly what was read inside them.
/// </summary>
internal sealed class ScopedValueConverter<T>(bool holderChecks) : JsonConverter<T>
{
    private Contract? _contract;

    public override T? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var typeInfo = ContractFor(options);
        PersonalDataScope.Begin();
        T? value;
        try
        {
            value = JsonSerializer.Deserialize(ref reader, typeInfo);
        }
        catch
        {
            PersonalDataScope.Reset(); // the whole read fails: leave nothing behind for the next one on this thread
            throw;
        }

        PersonalDataScope.End(holderChecks);
        return value;
    }

    public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) =>
        JsonSerializer.Serialize(writer, value, ContractFor(options));

    private JsonTypeInfo<T> ContractFor(JsonSerializerOptions options)
    {
        if (_contract is { } contract && ReferenceEquals(contract.Options, options))
        {
            return contract.TypeInfo;
        }

        var typeInfo = (JsonTypeInfo<T>)options.GetTypeInfo(typeof(T));
        _contract = new Contract(options, typeInfo);
        return typeInfo;
    }

    /// <summary>The contract of <typeparamref name="T"/> in the options last used (one reference, swapped whole).</summary>
    private sealed record Contract(JsonSerializerOptions Options, JsonTypeInfo<T> TypeInfo);
}
