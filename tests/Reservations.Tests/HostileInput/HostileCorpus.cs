using System.Net;
using System.Text;
using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.HostileInput;

/// <summary>One hostile request: its method, where it goes, its raw body bytes, content type and headers.</summary>
public sealed record HostileRequest(
    string Name, string Path, byte[]? Body, string? ContentType = "application/json", IReadOnlyDictionary<string, string>? Headers = null, bool UnknownLength = false, string Method = "POST")
{
    public HttpRequestMessage ToMessage()
    {
        var request = new HttpRequestMessage(new HttpMethod(Method), ReservationsApi.Url(Path));
        if (Body is not null)
        {
            request.Content = UnknownLength ? new UnknownLengthContent(Body) : new ByteArrayContent(Body);
            if (ContentType is not null)
            {
                request.Content.Headers.TryAddWithoutValidation("Content-Type", ContentType);
            }
        }

        foreach (var (name, value) in Headers ?? new Dictionary<string, string>())
        {
            if (!request.Headers.TryAddWithoutValidation(name, value))
            {
                request.Content ??= new ByteArrayContent([]); // a content header (Content-Type) needs content to travel with
                request.Content.Headers.Remove(name);
                Assert.True(request.Content.Headers.TryAddWithoutValidation(name, value), $"{Name}: header {name} not added");
            }
        }

        return request;
    }

    public override string ToString() => Name;

    /// <summary>A body sent without Content-Length (chunked), so only reading it tells its size.</summary>
    private sealed class UnknownLengthContent(byte[] body) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(body).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}

/// <summary>What the corpus aims at: a reservation it may cancel, and one (with its guest and day) that none of it may change.</summary>
public sealed record HostileTargets(Guid Cancellable, Guid Bystander, Guid BystanderGuest, DateOnly BystanderDay);

/// <summary>
/// Malformed, wrong-typed, oversized and hostile requests against every endpoint of the API, generated: the bodies of
/// placing and cancelling in depth (<c>HostileCorpus.Placing.cs</c>), and every route crossed with every mutation of its
/// path, method, headers, body and query (<c>HostileCorpus.Routes.cs</c>). None may be a server error, every error must be
/// a problem, and none may change what <see cref="HostileTargets.Bystander"/> holds.
/// </summary>
public static partial class HostileCorpus
{
    public static IReadOnlyList<HostileRequest> For(HostileTargets targets)
    {
        ArgumentNullException.ThrowIfNull(targets);
        var day = ReservationsApi.Text(Bodies.UniqueDay());
        var valid = new Dictionary<string, string>
        {
            ["guestId"] = $"\"{Guid.NewGuid()}\"",
            ["guestName"] = "\"Ada Lovelace\"",
            ["guestEmail"] = "\"ada@example.com\"",
            ["guestPhone"] = "\"+44 20 7946 0000\"",
            ["day"] = $"\"{day}\"",
            ["partySize"] = "2",
        };
        return [.. Placing(targets.Cancellable, day, valid), .. EveryRoute(targets, Object(valid))];
    }

    private static string Object(IEnumerable<KeyValuePair<string, string>> fields) =>
        "{" + string.Join(",", fields.Select(f => $"{Quote(f.Key)}:{f.Value}")) + "}";

    private static string Quote(string text) => "\"" + text + "\"";

    private static string Nest(int depth, char open, char close) => new string(open, depth) + new string(close, depth);

    private static byte[] Splice(string text, string marker, byte[] bytes)
    {
        var at = text.IndexOf(marker, StringComparison.Ordinal);
        return [.. Encoding.UTF8.GetBytes(text[..at]), .. bytes, .. Encoding.UTF8.GetBytes(text[(at + marker.Length)..])];
    }

    /// <summary>A valid body padded with an unknown field to exactly <paramref name="size"/> bytes.</summary>
    private static byte[] Exactly(Func<int, byte[]> padded, int size)
    {
        var body = padded(size - padded(0).Length);
        Assert.Equal(size, body.Length);
        return body;
    }

    private static string Show(string text)
    {
        var shown = text.Length > 60 ? $"{text[..30]}…{text[^20..]} ({text.Length} chars)" : text;
        return "'" + WebUtility.UrlEncode(shown) + "'";
    }
}
