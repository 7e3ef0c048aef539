using System.Text.Json;
using System.Text.Json.Serialization;

namespace EventSourcing.Privacy;

/// <summary>
/// The converter put on every <see cref="PersonalDataAttribute"/> property: writes the value's JSON encrypted under the
/// current subject's key (or, for fingerprints, its keyed hash), and reads it back, or the placeholder when the key is
/// gone. Values stored before protection (plain JSON) are read as they are. In a sealed read (<see cref="SealedReads"/>)
/// a protected value is not decrypted: it reads as the placeholder.
/// </summary>
internal sealed class PersonalDataConverter<T>(Func<PersonalDataProtector> protector, string scope, string? replacement, bool fingerprint) : JsonConverter<T>
{
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

        var plaintext = JsonSerializer.SerializeToUtf8Bytes(value, options.GetTypeInfo(typeof(T)));
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
            if (SealedReads.IsActive && !reader.HasValueSequence && !reader.ValueIsEscaped && reader.ValueSpan.StartsWith(PersonalDataProtector.MarkerUtf8))
            {
                return Placeholder(); // a reader that reads no personal data: not even the ciphertext is copied out
            }

            var text = reader.GetString()!;
            if (text == PersonalDataProtector.ErasedMarker)
            {
                PersonalDataScope.ReadErasedMarker(scope);
                return Placeholder();
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

    private T? Placeholder() => typeof(T) == typeof(string) ? (T)(object)(replacement ?? protector().Placeholder) : default;

    private bool IsErasedValue(T value) => value is string text
        ? text == (replacement ?? protector().Placeholder)
        : EqualityComparer<T>.Default.Equals(value, default!);
}
