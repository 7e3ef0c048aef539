using System.Globalization;
using System.Text;

namespace Reservations.Tests.HostileInput;

public static partial class HostileCorpus
{
    private const int Limit = 64 * 1024;

    private static readonly string[] Fields = ["guestId", "guestName", "guestEmail", "guestPhone", "day", "partySize"];

    private static readonly string[] WrongValues =
    [
        "\"text\"", "\"\"", "true", "false", "null", "0", "-1", "1.5", "1e400", "-1e400", "99999999999999999999999999999",
        "[]", "[1,2,3]", "{}", "{\"a\":1}", "NaN", "Infinity", "-0", "\"00000000-0000-0000-0000-000000000000\"",
    ];

    /// <summary>
    /// POST /reservations and POST /reservations/{id}/cancel: broken JSON, every field with every wrong type, huge numbers,
    /// nulls, arrays for objects, deep nesting, long strings, invalid unicode, bad dates, bad party sizes, unknown fields,
    /// empty bodies, wrong content types, bodies over 64 KiB, malformed headers.
    /// </summary>
    private static List<HostileRequest> Placing(Guid cancellable, string day, IReadOnlyDictionary<string, string> valid)
    {
        var validBody = Object(valid);
        var corpus = new List<HostileRequest>();

        void Place(string name, string body, string? contentType = "application/json", IReadOnlyDictionary<string, string>? headers = null) =>
            corpus.Add(new HostileRequest($"place: {name}", "/reservations", Encoding.UTF8.GetBytes(body), contentType, headers));

        void PlaceBytes(string name, byte[] body, string? contentType = "application/json", bool unknownLength = false) =>
            corpus.Add(new HostileRequest($"place: {name}", "/reservations", body, contentType, UnknownLength: unknownLength));

        string With(string field, string? raw)
        {
            var fields = new Dictionary<string, string>(valid);
            if (raw is null)
            {
                fields.Remove(field);
            }
            else
            {
                fields[field] = raw;
            }

            return Object(fields);
        }

        // Broken JSON.
        foreach (var broken in new[]
        {
            "", " ", "\n", "{", "}", "[", "]", "{\"guestId\"", "{\"guestId\":}", "{,}", "{\"a\":1,}", "[1,]", "{'guestId':'x'}",
            "{guestId: 1}", "nul", "tru", "fals", "\"just a string\"", "42", "-0.0e-0", "null", "true", "{} {}",
            validBody + validBody, validBody + " trailing", "/* comment */ " + validBody, validBody[..^1],
            validBody.Replace("\"Ada Lovelace\"", "\"Ada Lovelace", StringComparison.Ordinal), "{\"guestName\": \"abc}", "\u0000", "{\"\u0001\": 1}",
            "{\"guestName\": \"tab\there\"}", validBody.Replace(":", "=", StringComparison.Ordinal), "{\"a\" 1}", "{\"a\":1 \"b\":2}", "{\"a\":01}", "{\"a\":.5}",
            "{\"a\":+1}", "{\"a\":0x10}", "{\"a\":undefined}", "<xml/>",
        })
        {
            Place($"broken JSON {Show(broken)}", broken);
        }

        // Every field: missing, and each wrong type or extreme value.
        foreach (var field in Fields)
        {
            Place($"{field} missing", With(field, null));
            foreach (var value in WrongValues)
            {
                Place($"{field} = {value}", With(field, value));
            }
        }

        // Nulls, arrays instead of objects, wrong roots.
        Place("every field null", Object(Fields.ToDictionary(f => f, _ => "null")));
        Place("empty object", "{}");
        Place("empty array", "[]");
        Place("array of the valid body", $"[{validBody}]");
        Place("array of numbers", "[1,2,3]");
        Place("object of arrays", Object(Fields.ToDictionary(f => f, _ => "[]")));
        Place("object of objects", Object(Fields.ToDictionary(f => f, _ => "{}")));

        // Deep nesting (System.Text.Json stops at depth 64).
        Place("array nested 63 deep in an unknown field", With("extra", Nest(63, '[', ']')));
        Place("array nested 65 deep in an unknown field", With("extra", Nest(65, '[', ']')));
        Place("array nested 10,000 deep at the root", Nest(10_000, '[', ']'));
        Place("object nested 1,000 deep in an unknown field", With("extra", string.Concat(Enumerable.Repeat("{\"a\":", 1_000)) + "1" + new string('}', 1_000)));
        Place("object nested 10,000 deep at the root", string.Concat(Enumerable.Repeat("{\"a\":", 10_000)) + "1" + new string('}', 10_000));
        Place("deep array as the guest name", With("guestName", Nest(200, '[', ']')));
        Place("unclosed nesting", Nest(500, '[', ']')[..500]);

        // Very long strings, many fields.
        Place("guest name of 101 characters", With("guestName", Quote(new string('n', 101))));
        Place("guest name of 60,000 characters", With("guestName", Quote(new string('n', 60_000))));
        Place("guest name of 10,000 emoji", With("guestName", Quote(string.Concat(Enumerable.Repeat("😀", 10_000)))));
        Place("guest e-mail of 300 characters", With("guestEmail", Quote(new string('e', 290) + "@example.com")));
        Place("guest phone of 33 digits", With("guestPhone", Quote(new string('1', 33))));
        Place("guest phone of 20,000 digits", With("guestPhone", Quote(new string('1', 20_000))));
        Place("unknown field of 60,000 characters", With("extra", Quote(new string('x', 60_000))));
        Place("property name of 30,000 characters", With(new string('k', 30_000), "1"));
        Place("5,000 unknown fields", Object(valid.Concat(Enumerable.Range(0, 5_000).Select(i => KeyValuePair.Create(string.Create(CultureInfo.InvariantCulture, $"f{i}"), "1"))).ToDictionary()));
        Place("guest id as a 40,000-digit number", With("guestId", new string('9', 40_000)));
        Place("party size as a 40,000-digit number", With("partySize", new string('9', 40_000)));
        Place("party size with a 10,000-digit exponent", With("partySize", "1e" + new string('9', 10_000)));

        // Invalid and hostile unicode.
        foreach (var escape in new[] { "\\uZZZZ", "\\u12", "\\u", "\\ud800", "\\udc00", "\\ud800\\u0041", "\\udfff\\ud800", "\\u0000", "\\x41", "\\q", "\\", "\\u00e9\\u0301", "\\u202e\\u0000evil" })
        {
            Place($"guest name with escape {escape}", With("guestName", $"\"Ada{escape}\""));
        }

        Place("guest e-mail with a NUL", With("guestEmail", "\"ada\\u0000@example.com\""));
        Place("guest phone with a NUL", With("guestPhone", "\"+44\\u0000 20\""));
        Place("day with a NUL", With("day", $"\"{day}\\u0000\""));
        Place("unknown field with a lone surrogate", With("extra", "\"\\ud83d\""));
        var invalidUtf8 = new (string Name, byte[] Bytes)[]
        {
            ("0xFF", [0xFF]), ("0xC3 0x28", [0xC3, 0x28]), ("overlong slash 0xC0 0xAF", [0xC0, 0xAF]), ("surrogate as UTF-8 0xED 0xA0 0x80", [0xED, 0xA0, 0x80]),
            ("truncated 0xE2 0x82", [0xE2, 0x82]), ("beyond U+10FFFF 0xF4 0x90 0x80 0x80", [0xF4, 0x90, 0x80, 0x80]),
        };
        foreach (var (name, bytes) in invalidUtf8)
        {
            PlaceBytes($"guest name with invalid UTF-8 {name}", Splice(With("guestName", "\"Ada#\""), "#", bytes));
        }

        PlaceBytes("raw invalid UTF-8 body", [0xFF, 0xFE, 0xFD, 0x00, 0x01]);
        PlaceBytes("UTF-8 byte order mark before the body", [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(validBody)]);
        PlaceBytes("UTF-16 body declared as UTF-8", Encoding.Unicode.GetBytes(validBody));
        PlaceBytes("UTF-16 body declared as UTF-16", Encoding.Unicode.GetBytes(validBody), "application/json; charset=utf-16");
        PlaceBytes("UTF-32 body declared as UTF-32", Encoding.UTF32.GetBytes(validBody), "application/json; charset=utf-32");
        PlaceBytes("valid body declared in an unknown charset", Encoding.UTF8.GetBytes(validBody), "application/json; charset=klingon");

        // Bad days.
        foreach (var bad in new[]
        {
            "\"2024-02-30\"", "\"2030-13-01\"", "\"2030-00-10\"", "\"2030-01-32\"", "\"01/02/2030\"", "\"2030-1-1\"", "\"\"", "\"yesterday\"", "20300101",
            "\"2030-01-01T00:00:00Z\"", "\"0000-00-00\"", "\"0001-01-01\"", "\"2000-01-01\"", $"\" {day}\"", "\"9999-12-31\"", "\"10000-01-01\"", "\"-2030-01-01\"",
            "\"2030-01-01 \"", "\"２０３０-01-01\"", "{\"year\":2030}",
        })
        {
            Place($"bad day {bad}", With("day", bad));
        }

        // Party sizes.
        foreach (var size in new[] { "-1", "0", "13", "12", "1", "2147483647", "-2147483648", "2147483648", "-2147483649", "1000000", "1.0", "2.5", "\"3\"", "\"three\"", "1e1", "0.0000001" })
        {
            Place($"party size {size}", With("partySize", size));
        }

        // Unknown fields, duplicates, casing, polymorphism tricks.
        Place("unknown object field", With("extra", "{\"nested\":{\"deeper\":[1,{\"x\":null}]}}"));
        Place("status forced to confirmed", With("status", "\"confirmed\""));
        Place("id forced", With("id", $"\"{Guid.NewGuid()}\""));
        Place("id of the wrong type", With("id", "[1,2]"));
        Place("$type discriminator", With("$type", "\"System.Diagnostics.Process, System\""));
        Place("$id and $ref", With("$ref", "\"#/guestId\""));
        Place("__proto__ field", With("__proto__", "{\"admin\":true}"));
        Place("duplicate partySize", validBody[..^1] + ",\"partySize\":13}");
        Place("duplicate guestId of another type", validBody[..^1] + ",\"guestId\":42}");
        Place("field names in upper case", validBody.ToUpperInvariant());
        Place("field names in PascalCase", Object(valid.ToDictionary(f => char.ToUpperInvariant(f.Key[0]) + f.Key[1..], f => f.Value)));
        Place("guestid of the wrong type in other casing", With("GUESTID", "{}"));
        Place("SQL in the guest name", With("guestName", "\"Robert'); DROP TABLE mt_events;--\""));
        Place("script in the guest e-mail", With("guestEmail", "\"<script>alert(1)</script>@example.com\""));
        Place("format string in the guest name", With("guestName", "\"{0}{1}%s%n%x\""));

        // Empty bodies and content types.
        Place("empty body", string.Empty);
        corpus.Add(new HostileRequest("place: no body, no content type", "/reservations", null, null));
        Place("no content type", validBody, null);
        foreach (var contentType in new[]
        {
            "text/plain", "application/xml", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "application/octet-stream", "garbage",
            "application/json-seq", "application/merge-patch+json", "application/json, text/plain", ";;;", "application/json; charset=", "text/json", "*/*",
        })
        {
            Place($"content type {contentType}", validBody, contentType);
        }

        Place("form body", $"guestId={Guid.NewGuid()}&guestName=Ada&guestEmail=ada%40example.com&day={day}&partySize=2", "application/x-www-form-urlencoded");
        Place("XML body", "<reservation><partySize>2</partySize></reservation>", "application/xml");

        // Oversized: announced, and streamed without a length.
        var padding = (int size) => Encoding.UTF8.GetBytes(With("extra", Quote(new string('x', size))));
        PlaceBytes("body of 64 KiB + 1 with Content-Length", Exactly(padding, Limit + 1));
        PlaceBytes("body of 64 KiB + 1 streamed", Exactly(padding, Limit + 1), unknownLength: true);
        PlaceBytes("body of 100 KiB with Content-Length", Exactly(padding, 100 * 1024));
        PlaceBytes("body of 100 KiB streamed", Exactly(padding, 100 * 1024), unknownLength: true);
        PlaceBytes("body of 2 MiB of zeros", new byte[2 * 1024 * 1024]);
        PlaceBytes("body of 2 MiB of zeros streamed", new byte[2 * 1024 * 1024], unknownLength: true);
        PlaceBytes("body of 1 MiB of nested arrays", Encoding.ASCII.GetBytes(Nest(512 * 1024, '[', ']')));
        PlaceBytes("body of exactly 64 KiB", Exactly(padding, Limit));

        // Malformed headers with a valid body.
        foreach (var key in new[] { "", " ", "has space", new string('k', 101), "semi;colon", "slash/", "ключ", "a,b", "\"quoted\"" })
        {
            Place($"Idempotency-Key {Show(key)}", validBody, headers: new Dictionary<string, string> { ["Idempotency-Key"] = key });
        }

        // Cancel: bodies are not read, but must not matter; headers and ids are parsed.
        var cancel = $"/reservations/{cancellable}/cancel";
        foreach (var body in new[] { "{", "[]", "null", validBody, Nest(10_000, '[', ']'), "\u0000" })
        {
            corpus.Add(new HostileRequest($"cancel: body {Show(body)}", cancel, Encoding.UTF8.GetBytes(body)));
        }

        corpus.Add(new HostileRequest("cancel: body of 100 KiB", cancel, Exactly(padding, 100 * 1024)));
        corpus.Add(new HostileRequest("cancel: body of 100 KiB streamed", cancel, Exactly(padding, 100 * 1024), UnknownLength: true));
        corpus.Add(new HostileRequest("cancel: body as text/plain", cancel, Encoding.UTF8.GetBytes("cancel please"), "text/plain"));
        foreach (var ifMatch in new[] { "abc", "-1", "\"-1\"", "1.5", "\"99999999999999999999999\"", "W/\"x\"", "\"", "\"\"", "1, 2", "\"1\", \"2\"", " ", "W/", "\"999\"", "*", "\"0\"" })
        {
            corpus.Add(new HostileRequest($"cancel: If-Match {Show(ifMatch)}", cancel, null, null, new Dictionary<string, string> { ["If-Match"] = ifMatch }));
        }

        foreach (var key in new[] { "", "has space", new string('k', 101), "ключ" })
        {
            corpus.Add(new HostileRequest($"cancel: Idempotency-Key {Show(key)}", cancel, null, null, new Dictionary<string, string> { ["Idempotency-Key"] = key }));
        }

        foreach (var id in new[] { "not-a-guid", Guid.Empty.ToString(), Guid.NewGuid().ToString(), "%20", "..%2f..%2fhealth", new string('a', 5_000), "{" + Guid.NewGuid() + "}", "1", "%F0%9F%98%80" })
        {
            corpus.Add(new HostileRequest($"cancel: id {Show(id)}", $"/reservations/{id}/cancel", null, null));
        }

        return corpus;
    }
}
