using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace EventSourcing.Privacy;

/// <summary>
/// The JSON options every EventSourcing serializer uses (events, views, snapshots, stored command results): the
/// application's options with crypto-shredding added, so personal data is protected wherever anything is serialized.
/// </summary>
public sealed class EventSourcingJson
{
    /// <summary>Builds the options from <paramref name="template"/>, protecting personal data with the protector <paramref name="protector"/> gives.</summary>
    public EventSourcingJson(JsonSerializerOptions template, Func<PersonalDataProtector> protector)
    {
        ArgumentNullException.ThrowIfNull(template);
        Modifier = PersonalDataJson.Modifier(protector);
        Options = new JsonSerializerOptions(template)
        {
            TypeInfoResolver = (template.TypeInfoResolver ?? new DefaultJsonTypeInfoResolver()).WithAddedModifier(Modifier),
        };
        Options.MakeReadOnly(populateMissingResolver: true);
        FingerprintOptions = new JsonSerializerOptions(template)
        {
            TypeInfoResolver = (template.TypeInfoResolver ?? new DefaultJsonTypeInfoResolver()).WithAddedModifier(PersonalDataJson.Modifier(protector, fingerprint: true)),
        };
        FingerprintOptions.MakeReadOnly(populateMissingResolver: true);
    }

    /// <summary>
    /// Options that write personal values as keyed hashes under their subject's key (read-only): a payload's fingerprint
    /// compares equal for equal payloads while the subject's key lives, and lets nobody test a guess once it is deleted.
    /// </summary>
    public JsonSerializerOptions FingerprintOptions { get; }

    /// <summary>The options (read-only).</summary>
    public JsonSerializerOptions Options { get; }

    /// <summary>The crypto-shredding modifier, for serializers configured elsewhere (Marten's).</summary>
    public Action<JsonTypeInfo> Modifier { get; }
}
