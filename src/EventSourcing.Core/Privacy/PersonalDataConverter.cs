using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace EventSourcing.Privacy;

/// <summary>
/// The converter put on every <see cref="PersonalDataAttribute"/> property: writes the value's JSON encrypted under the
/// current subject's key (or, for fingerprints, its keyed hash), and reads it back, or the placeholder when the key is
/// gone. Values stored before protection (plain JSON) are read as they are. In a sealed read (<see cref="SealedReads"/>)
/// a protected value is not decrypted: it reads as the placeholder. Inside an event written with
/// <see cref="PersonalDataJson.SealPerEvent"/> the value is kept for its subject's group and written as a reference to it
/// (<see cref="SealedGroups"/>, format version 2); both versions are read.
/// </summary>
internal sealed class PersonalDataConverter<T>(Func<PersonalDataProtector> protector, string scope, string? replacement, bool fingerprint) : JsonConverter<T>
{
    private readonly byte[] _scopeTag = SealedGroups.TagOf(scope);

    public override bool HandleNull => true;

    public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options)
    {
        try
        {
            WriteCore(writer, value, options);
        }
        catch
        {
            PersonalDataScope.Reset(); // the whole write fails: leave no subject behind for the next one on this thread
            throw;
        }
    }

    private void WriteCore(Utf8JsonWriter writer, T value, JsonSerializerOptions options)
    {
        if (value is null)
        {
            writer.WriteNullValue();
            return;
        }

        var subject = PersonalDataScope.CurrentSubject
            ?? throw new InvalidOperationException($"{scope} is personal data, but neither its object nor any object around it has a [DataSubject] property with a value.");
        if (PersonalDataScope.IsErasing(subject))
        {
            writer.WriteStringValue(PersonalDataProtector.ErasedMarker); // a copy of data read before its subject was forgotten
            return;
        }

        var typeInfo = (JsonTypeInfo<T>)options.GetTypeInfo(typeof(T));
        if (!fingerprint && SealedGroups.TryAdd(writer, value, typeInfo, subject, _scopeTag, IsErasedValue(value)))
        {
            return; // a reference written: the value is sealed with the subject's other values in the event, once it is written
        }

        var plaintext = JsonSerializer.SerializeToUtf8Bytes(value, typeInfo);

        try
        {
            writer.WriteStringValue(fingerprint ? protector().Fingerprint(subject, scope, plaintext) : protector().Protect(subject, scope, plaintext));
        }
        catch (SubjectForgottenException) when (IsErasedValue(value))
        {
            writer.WriteStringValue(PersonalDataProtector.ErasedMarker); // an erased value written again: nothing personal left
        }
    }

    public override T? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return default;
        }

        if (reader.TokenType == JsonTokenType.String)
        {
            if (!reader.HasValueSequence && !reader.ValueIsEscaped)
            {
                if (SealedReads.IsActive && reader.ValueSpan.StartsWith(PersonalDataProtector.MarkerUtf8))
                {
                    return Placeholder(); // a reader that reads no personal data: not even the ciphertext is copied out
                }

                if (reader.ValueSpan.StartsWith(PersonalDataProtector.ReferencePrefixBytes))
                {
                    return ReadReference(reader.ValueSpan, options);
                }
            }

            var text = reader.GetString()!;
            if (text == PersonalDataProtector.ErasedMarker)
            {
                PersonalDataScope.ReadErasedMarker(scope);
                return Placeholder();
            }

            if (text.StartsWith(PersonalDataProtector.ReferencePrefix, StringComparison.Ordinal))
            {
                return ReadReference(Encoding.UTF8.GetBytes(text), options);
            }

            if (text.StartsWith(PersonalDataProtector.Prefix, StringComparison.Ordinal))
            {
                if (SealedReads.IsActive)
                {
                    return Placeholder(); // a reader that reads no personal data: nothing to decrypt, no key to load
                }

                bool opened;
                byte[]? plaintext;
                string subject;
                try
                {
                    opened = protector().TryUnprotect(text, scope, out plaintext, out subject);
                }
                catch
                {
                    PersonalDataScope.Reset(); // the whole read fails: leave nothing behind for the next one on this thread
                    throw;
                }

                PersonalDataScope.Read(subject, scope, erased: !opened);
                return opened ? (T?)JsonSerializer.Deserialize(plaintext, options.GetTypeInfo(typeof(T))) : Placeholder();
            }
        }

        return (T?)JsonSerializer.Deserialize(ref reader, options.GetTypeInfo(typeof(T)));
    }

    /// <summary>Reads a reference to a value in the event's sealed groups (format version 2).</summary>
    private T? ReadReference(ReadOnlySpan<byte> reference, JsonSerializerOptions options)
    {
        if (SealedReads.IsActive || !SealedGroups.IsOpen)
        {
            return Placeholder(); // a reader that reads no personal data, or did not open the event's groups (Marten's own): sealed
        }

        T? value;
        string subject;
        bool erased;
        try
        {
            value = SealedGroups.Resolve(reference, _scopeTag, scope, (JsonTypeInfo<T>)options.GetTypeInfo(typeof(T)), out subject, out erased);
        }
        catch
        {
            PersonalDataScope.Reset(); // the whole read fails: leave nothing behind for the next one on this thread
            throw;
        }

        PersonalDataScope.Read(subject, scope, erased);
        return erased ? Placeholder() : value;
    }

    private T? Placeholder() => typeof(T) == typeof(string) ? (T)(object)(replacement ?? protector().Placeholder) : default;

    private bool IsErasedValue(T value) => value is string text
        ? text == (replacement ?? protector().Placeholder)
        : EqualityComparer<T>.Default.Equals(value, default!);
}
