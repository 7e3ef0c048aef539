using System.Text.Json;

namespace EventSourcing.Nats;

/// <summary>JetStream's answer to a publish: <c>{"stream":"S","seq":7,"duplicate":true}</c>, or <c>{"error":{"code":503,"err_code":10077,"description":"..."}}</c>.</summary>
internal sealed record PublishAck(string? Stream, ulong Sequence, bool Duplicate, string? Error)
{
    public static PublishAck Parse(ReadOnlySpan<byte> json)
    {
        using var document = JsonDocument.Parse(json.ToArray());
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new JsonException("An acknowledgement is a JSON object.");
        }

        if (root.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
        {
            var description = error.TryGetProperty("description", out var text) ? text.GetString() : null;
            return new PublishAck(null, 0, false, $"{description} (code {Text(error, "code")}, error code {Text(error, "err_code")})");
        }

        return new PublishAck(
            root.TryGetProperty("stream", out var stream) ? stream.GetString() : null,
            root.TryGetProperty("seq", out var sequence) ? sequence.GetUInt64() : 0,
            root.TryGetProperty("duplicate", out var duplicate) && duplicate.ValueKind == JsonValueKind.True,
            null);
    }

    private static string Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) ? value.GetRawText() : "none";
}
