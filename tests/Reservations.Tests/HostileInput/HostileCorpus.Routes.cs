using System.Text;
using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.HostileInput;

public static partial class HostileCorpus
{
    private const string ApiKeyHeader = "X-Api-Key";

    /// <summary>
    /// What replaces a route's parameter: wrong types, injection, traversal, encoded slashes, broken escapes, huge values.
    /// (No %00: the test server refuses to carry it, as Kestrel refuses it with its own 400 before the app sees it.)
    /// </summary>
    private static readonly string[] Segments =
    [
        "not-a-guid", "00000000-0000-0000-0000-000000000000", "-1", "99999999999999999999999", "null", "undefined", "%20", "%01", "%0d%0aSet-Cookie:%20x=1",
        "..", "%2e%2e", "..%2f..%2fadmin%2fprojections", "%2e%2e%2f%2e%2e%2fadmin%2fprojections", "%252e%252e%252f", "a%2fb", "%5c..%5c..%5cwindows",
        "%", "%zz", "%ff%fe", "%c0%af", "%F0%9F%98%80", "%3Cscript%3Ealert(1)%3C%2Fscript%3E", "'%20OR%201=1--", "2030-02-30", "2030-1-1",
        new string('a', 5_000), "{" + Guid.NewGuid() + "}",
    ];

    private static readonly string[] Methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "PROPFIND", "FOO"];

    private static readonly string[] PathMethods = ["GET", "POST", "DELETE"];

    /// <summary>Header values a client may send: malformed preconditions and keys, odd media types, injection, huge values.</summary>
    private static readonly (string Name, string Value)[] Headers =
    [
        ("If-Match", "abc"), ("If-Match", "\"-1\""), ("If-Match", "W/"), ("If-Match", "\"99999999999999999999\""), ("If-Match", "*, \"1\""),
        ("Idempotency-Key", new string('k', 101)), ("Idempotency-Key", "ключ"), ("Idempotency-Key", "has space"), ("Idempotency-Key", "a\r\nX-Injected: 1"),
        (ApiKeyHeader, new string('k', 10_000)), (ApiKeyHeader, "ключ"), (ApiKeyHeader, "key\0"), (ApiKeyHeader, ReservationsApp.AdminKey + "\r\nX-Injected: 1"),
        ("Accept", "text/html"), ("Accept", "application/xml;q=abc"), ("Accept", "*/*;;;"), ("Accept-Charset", "klingon"), ("Accept-Encoding", "gzip;q=2, br;q=-1"),
        ("Content-Type", "application/json; charset=klingon"), ("Content-Type", "multipart/form-data"),
        ("X-Injected", "a\r\nSet-Cookie: x=1"), ("Host", "evil.example"), ("Host", "[::1]:99999"), ("Cookie", new string('c', 32 * 1024)),
        ("Range", "bytes=0-1,-5"), ("If-None-Match", "*"), ("If-Modified-Since", "yesterday"), ("X-HTTP-Method-Override", "DELETE"),
        ("X-Forwarded-For", "127.0.0.1, evil"), ("X-Forwarded-Host", "evil.example"), ("Origin", "https://evil.example"), ("Authorization", "Bearer " + new string('t', 4_000)),
    ];

    /// <summary>Bodies sent where none or another is expected.</summary>
    private static readonly (string Name, byte[] Bytes, string ContentType, bool UnknownLength)[] Payloads =
    [
        ("broken JSON", Encoding.UTF8.GetBytes("{"), "application/json", false),
        ("JSON nested 10,000 deep", Encoding.ASCII.GetBytes(Nest(10_000, '[', ']')), "application/json", false),
        ("invalid UTF-8", [0xFF, 0xFE, 0xC0, 0xAF], "application/json", false),
        ("100 KiB", Encoding.ASCII.GetBytes(Quote(new string('x', 100 * 1024))), "application/json", false),
        ("2 MiB of zeros streamed", new byte[2 * 1024 * 1024], "application/octet-stream", true),
        ("form", Encoding.ASCII.GetBytes("a=1&b=%00"), "application/x-www-form-urlencoded", false),
        ("XML", Encoding.UTF8.GetBytes("<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><x>&e;</x>"), "application/xml", false),
        ("JSON null", Encoding.UTF8.GetBytes("null"), "application/json", false),
        ("valid JSON as text/plain", Encoding.UTF8.GetBytes("{\"partySize\":2}"), "text/plain", false),
    ];

    private static readonly string[] Queries =
    [
        "?atLeast=-1", "?atLeast=abc", "?atLeast=99999999999999999999", "?atLeast=9223372036854775807", "?atLeast=1&atLeast=2", "?atLeast=%00",
        "?atLeast=1e3", "?%ff=%fe", "?a=" + new string('q', 8_000), "?" + string.Join("&", Enumerable.Range(0, 1_000).Select(i => $"p{i}={i}")),
    ];

    /// <summary>Paths that try to reach a route another way: doubled or encoded slashes, traversal, casing, suffixes.</summary>
    private static readonly string[] Paths =
    [
        "//reservations", "/reservations/", "/RESERVATIONS", "/reservations;x=1", "/reservations%2f", "/%2e%2e/admin/projections", "/health/..%2f..%2fadmin%2fprojections",
        "/admin/projections%01", "/admin/projections/", "/admin//projections", "/Admin/Projections", "/admin/%70rojections", "/admin/projections.json",
        "/openapi/v2.json", "/openapi/..%2f..%2fappsettings.json", "/scalar/..%2f..%2fappsettings.json", "/appsettings.json", "/.git/config", "/%",
    ];

    /// <summary>Every route of Program.cs, with a valid argument and what a valid request carries.</summary>
    private sealed record Route(string Method, string Template, string? Argument = null, bool Admin = false, string? Body = null)
    {
        public string Path(string? argument = null) => Argument is null ? Template : Template[..Template.IndexOf('{', StringComparison.Ordinal)] + (argument ?? Argument) + Template[(Template.IndexOf('}', StringComparison.Ordinal) + 1)..];

        public HostileRequest Request(string name, string? path = null, (string Name, string Value)? header = null, string? method = null)
        {
            var headers = new Dictionary<string, string>();
            if (Admin)
            {
                headers[ApiKeyHeader] = ReservationsApp.AdminKey;
            }

            if (header is { } replaced)
            {
                headers[replaced.Name] = replaced.Value;
            }

            var body = method is null && Body is not null ? Encoding.UTF8.GetBytes(Body) : null;
            return new HostileRequest($"{Method} {Template}: {name}", path ?? Path(), body, body is null ? null : "application/json", headers, Method: method ?? Method);
        }
    }

    /// <summary>Every route crossed with every mutation; what <see cref="Placing"/> covers in depth (placing's and cancelling's bodies and keys) is not repeated.</summary>
    private static List<HostileRequest> EveryRoute(HostileTargets targets, string validBody)
    {
        var day = ReservationsApi.Text(targets.BystanderDay);
        Route[] routes =
        [
            new("GET", "/health"),
            new("GET", "/openapi/v1.json"),
            new("GET", "/scalar/v1"),
            new("POST", "/reservations", Body: validBody),
            new("GET", "/reservations/{id}", targets.Bystander.ToString()),
            new("GET", "/reservations/{id}/history", targets.Bystander.ToString()),
            new("POST", "/reservations/{id}/cancel", targets.Cancellable.ToString()),
            new("GET", "/days/{day}/availability", day),
            new("GET", "/days/{day}/reservations", day),
            new("GET", "/guests/{guestId}/reservations", targets.BystanderGuest.ToString()),
            new("DELETE", "/guests/{guestId}/personal-data", Guid.NewGuid().ToString(), Admin: true), // someone nobody knows
            new("GET", "/admin/projections", Admin: true),
        ];
        static bool CoveredByPlacing(Route route, string header) =>
            route.Method == "POST" && header is "Idempotency-Key" or "If-Match" or "Content-Type";

        var corpus = new List<HostileRequest>();
        foreach (var route in routes)
        {
            if (route.Argument is not null)
            {
                corpus.AddRange(Segments.Select(segment => route.Request($"argument {Show(segment)}", route.Path(segment))));
            }

            corpus.AddRange(Methods.Where(m => m != route.Method).Select(method => route.Request($"method {method}", method: method)));
            corpus.AddRange(Headers.Where(h => !CoveredByPlacing(route, h.Name)).Select((h, i) => route.Request($"header {h.Name} #{i} {Show(h.Value)}", header: h)));
            corpus.AddRange(Queries.Select(query => route.Request($"query {Show(query)}", route.Path() + query)));
            if (route.Method != "POST")
            {
                corpus.AddRange(Payloads.Select(p => route.Request($"body {p.Name}") with { Body = p.Bytes, ContentType = p.ContentType, UnknownLength = p.UnknownLength }));
            }
        }

        corpus.AddRange(Paths.SelectMany(path => PathMethods.Select(method =>
            new HostileRequest($"path {Show(path)} {method}", path, null, null, new Dictionary<string, string> { [ApiKeyHeader] = ReservationsApp.AdminKey }, Method: method))));
        corpus.AddRange(AttacksOn(targets));
        return corpus;
    }

    /// <summary>Requests that would change the bystander if the API let them: each must be refused.</summary>
    private static IEnumerable<HostileRequest> AttacksOn(HostileTargets targets)
    {
        var forget = $"/guests/{targets.BystanderGuest}/personal-data";
        foreach (var key in new[] { "wrong", ReservationsApp.AdminKey[..^1], ReservationsApp.AdminKey + "x", ReservationsApp.AdminKey.ToUpperInvariant(), " " + ReservationsApp.AdminKey, $"{ReservationsApp.AdminKey}, {ReservationsApp.AdminKey}" })
        {
            yield return new HostileRequest($"bystander: forget with key {Show(key)}", forget, null, null, new Dictionary<string, string> { [ApiKeyHeader] = key }, Method: "DELETE");
        }

        yield return new HostileRequest("bystander: forget without a key", forget, null, null, Method: "DELETE");
        yield return new HostileRequest("bystander: forget with the key in the query", $"{forget}?X-Api-Key={ReservationsApp.AdminKey}", null, null, Method: "DELETE");
        yield return new HostileRequest("bystander: forget with the key as a bearer token", forget, null, null, new Dictionary<string, string> { ["Authorization"] = $"Bearer {ReservationsApp.AdminKey}" }, Method: "DELETE");
        yield return new HostileRequest("bystander: forget by POST with a method override", forget, null, null, new Dictionary<string, string> { ["X-HTTP-Method-Override"] = "DELETE", [ApiKeyHeader] = ReservationsApp.AdminKey });
        foreach (var ifMatch in new[] { "\"1\"", "\"0\"", "\"3\"", "W/\"1\"", "\"2\"x", "\"1\", \"2\"" })
        {
            yield return new HostileRequest($"bystander: cancel with If-Match {Show(ifMatch)}", $"/reservations/{targets.Bystander}/cancel", null, null, new Dictionary<string, string> { ["If-Match"] = ifMatch });
        }
    }
}
