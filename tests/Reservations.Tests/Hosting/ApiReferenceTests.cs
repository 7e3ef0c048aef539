using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Reservations.OpenApi;
using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.Hosting;

/// <summary>
/// The API reference page (<c>/scalar/v1</c>) as its HTML says: Scalar's configuration in the page turns off its hosted
/// services, the page points at nothing on another host, and the document it shows has its sections in order.
/// </summary>
public sealed partial class ApiReferenceTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_page_is_titled_and_its_configuration_turns_off_Scalars_hosted_services()
    {
        await using var app = await new InMemoryStore().StartAsync();
        using var client = app.CreateClient();

        var page = await PageAsync(client);
        using var configuration = Configuration(page);
        var root = configuration.RootElement;

        Assert.Contains($"<title>{ApiReference.Title}</title>", page, StringComparison.Ordinal);
        Assert.Equal("never", root.GetProperty("showDeveloperTools").GetString()); // Configure, Share, Generate SDK, Deploy
        Assert.True(root.GetProperty("agent").GetProperty("disabled").GetBoolean()); // "Ask AI"
        Assert.True(root.GetProperty("mcp").GetProperty("disabled").GetBoolean());
        Assert.False(root.GetProperty("telemetry").GetBoolean());
        Assert.True(root.GetProperty("hideClientButton").GetBoolean());
        Assert.False(root.GetProperty("withDefaultFonts").GetBoolean()); // fonts from Scalar's CDN
        Assert.False(root.TryGetProperty("proxyUrl", out _), "a proxy sends the \"try it\" requests through another host");
        Assert.False(root.TryGetProperty("tagsSorter", out _), "the sections are in the document's order");
        Assert.Equal("openapi/v1.json", Assert.Single(root.GetProperty("sources").EnumerateArray()).GetProperty("url").GetString());
    }

    [Fact]
    public async Task The_page_refers_to_nothing_on_another_host()
    {
        await using var app = await new InMemoryStore().StartAsync();
        using var client = app.CreateClient();

        var page = await PageAsync(client);

        var references = Reference().Matches(page).Select(m => m.Groups["url"].Value).ToList();
        Assert.Equal(["scalar.js", "scalar.aspnetcore.js", "./scalar.aspnetcore.js"], references);
        Assert.DoesNotContain("//", page, StringComparison.Ordinal); // no absolute URL, no scheme-relative one
        using var configuration = Configuration(page);
        foreach (var url in Strings(configuration.RootElement))
        {
            Assert.False(Uri.TryCreate(url, UriKind.Absolute, out var absolute) && absolute.Scheme.StartsWith("http", StringComparison.Ordinal), url);
        }
    }

    [Fact]
    public async Task The_sections_are_the_documents_tags_with_the_operators_last_and_apart()
    {
        await using var app = await new InMemoryStore().StartAsync();
        using var client = app.CreateClient();

        using var response = await client.GetAsync(ReservationsApi.Url("/openapi/v1.json"), Ct);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));

        var tags = document.RootElement.GetProperty("tags").EnumerateArray().Select(t => t.GetProperty("name").GetString()).ToList();
        Assert.Equal([ApiDocument.Reservations, ApiDocument.Days, ApiDocument.Guests, ApiDocument.Health, ApiDocument.Administration], tags);
        var groups = document.RootElement.GetProperty("x-tagGroups").EnumerateArray()
            .Select(g => (Name: g.GetProperty("name").GetString(), Tags: g.GetProperty("tags").EnumerateArray().Select(t => t.GetString()).ToList()))
            .ToList();
        Assert.Equal(tags, groups.SelectMany(g => g.Tags)); // every section in exactly one group, in the same order
        Assert.Equal("Operators", groups[^1].Name);
        Assert.Equal([ApiDocument.Health, ApiDocument.Administration], groups[^1].Tags);
    }

    private static async Task<string> PageAsync(HttpClient client)
    {
        using var response = await client.GetAsync(ReservationsApi.Url("/scalar/v1"), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync(Ct);
    }

    /// <summary>The configuration object Scalar.AspNetCore writes into the page, the third argument of <c>initialize(...)</c>.</summary>
    private static JsonDocument Configuration(string page)
    {
        var call = page.IndexOf("initialize(", StringComparison.Ordinal);
        Assert.True(call >= 0, "the page does not start Scalar with initialize(...)");
        var start = page.IndexOf('{', call);
        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(page[start..]), new JsonReaderOptions { AllowTrailingCommas = true });
        return JsonDocument.ParseValue(ref reader); // the object alone: the reader stops at its closing brace
    }

    private static IEnumerable<string> Strings(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => [element.GetString()!],
        JsonValueKind.Object => element.EnumerateObject().SelectMany(p => Strings(p.Value)),
        JsonValueKind.Array => element.EnumerateArray().SelectMany(Strings),
        _ => [],
    };

    [GeneratedRegex("""(?:src|href)="(?<url>[^"]*)"|from\s+'(?<url>[^']*)'""")]
    private static partial Regex Reference();
}
