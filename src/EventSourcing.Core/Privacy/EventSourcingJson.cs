using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace EventSourcing.Privacy;

/// <summary>
/// The JSON options every EventSourcing serializer uses (events, views, snapshots, stored command results): the
/// application's options with crypto-shredding added, so personal data is protected wherever anything is serialized.
/// </summary>
public sealed class EventSourcingJson
{
    private readonly Func<PersonalDataProtector> _protector;

    /// <summary>
    /// Builds the options from <paramref name="template"/>, protecting personal data with the protector
    /// <paramref name="protector"/> gives. The types <paramref name="isEvent"/> accepts (the registered event types) seal
    /// each subject's values together when written as events (<see cref="PersonalDataJson.SealPerEvent"/>).
    /// </summary>
    public EventSourcingJson(JsonSerializerOptions template, Func<PersonalDataProtector> protector, Func<Type, bool>? isEvent = null)
    {
        ArgumentNullException.ThrowIfNull(template);
        _protector = protector ?? throw new ArgumentNullException(nameof(protector));
        Modifier = PersonalDataJson.Modifier(protector, isEvent: isEvent);
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

    /// <summary>
    /// Brings copies made from personal values read earlier (views evolved from events) in line with the forgets since:
    /// each value holding data of a subject forgotten meanwhile comes back as a read after the forget shows it (that
    /// subject's values as placeholders, <see cref="PersonalDataErasedAttribute"/> flags set); the others are returned as
    /// they are. Loads the keys of every subject named, so writing the values finds them cached.
    /// </summary>
    internal async Task<object?[]> EraseForgottenAsync(IReadOnlyList<object?> values, CancellationToken cancellationToken)
    {
        var result = values.ToArray();
        var subjects = values.Select(PersonalDataJson.SubjectsOf).ToArray();
        var named = subjects.SelectMany(s => s).ToHashSet(StringComparer.Ordinal);
        if (named.Count == 0)
        {
            return result;
        }

        var forgotten = await _protector().PrepareWriteCoreAsync(named, cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < result.Length && forgotten.Count > 0; i++)
        {
            if (result[i] is { } value && subjects[i].Any(forgotten.Contains))
            {
                byte[] json;
                using (PersonalDataScope.EraseWhileWriting(forgotten))
                {
                    json = JsonSerializer.SerializeToUtf8Bytes(value, value.GetType(), Options);
                }

                PersonalDataScope.Reset();
                result[i] = JsonSerializer.Deserialize(json, value.GetType(), Options);
            }
        }

        return result;
    }
}
