using System.Net;
using System.Text;
using System.Text.Json;
using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.OpenApi;

/// <summary>
/// Every 400 is the same kind of answer, whatever refused the request (the command's validator, the JSON reader, the
/// framework's parameter binding, the API's own header checks): validation problem details titled "The request is
/// invalid", with <c>errors</c> keyed by the JSON field, parameter or header, and messages that name no C# type.
/// </summary>
public sealed class BadRequestTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string, string, string, string?, string, string> Requests()
    {
        var valid = JsonSerializer.Serialize(Bodies.Valid(Bodies.UniqueDay()), ReservationsApi.Json);
        var id = Guid.NewGuid();
        return new()
        {
            { "a rule of the validator", "POST", "/reservations", valid.Replace("\"partySize\":2", "\"partySize\":40", StringComparison.Ordinal), "partySize", "between 1 and 12" },
            { "a string for an integer", "POST", "/reservations", valid.Replace("\"partySize\":2", "\"partySize\":\"2\"", StringComparison.Ordinal), "partySize", "not an integer" },
            { "a number for a uuid", "POST", "/reservations", Replace(valid, "guestId", "42"), "guestId", "not a UUID" },
            { "a date that is not one", "POST", "/reservations", Replace(valid, "day", "\"31/12/2030\""), "day", "not a date as YYYY-MM-DD" },
            { "a body that is not JSON", "POST", "/reservations", "{\"guestId\": nope", "guestId", "not valid JSON" },
            { "an empty body", "POST", "/reservations", string.Empty, "body", "A JSON body is required" },
            { "an id that is not a uuid", "GET", "/reservations/not-a-uuid", null, "id", "'not-a-uuid' is not a UUID" },
            { "a position that is not a number", "GET", $"/reservations/{id}?atLeast=soon", null, "atLeast", "'soon' is not an integer" },
            { "a negative position", "GET", $"/reservations/{id}?atLeast=-1", null, "atLeast", "0 or more" },
            { "a day that is not a date", "GET", "/days/tomorrow/availability", null, "day", "not a date as YYYY-MM-DD" },
            { "a cancellation of an id that is not a uuid", "POST", "/reservations/123/cancel", null, "id", "'123' is not a UUID" },
            { "a guest that is not a uuid", "GET", "/guests/ada/reservations", null, "guestId", "'ada' is not a UUID" },
        };
    }

    [Theory]
    [MemberData(nameof(Requests))]
    public async Task Every_400_is_a_validation_problem_naming_the_field(string what, string method, string path, string? body, string field, string message)
    {
        await using var app = new ReservationsApp(null, new AppSetup());
        app.Start();
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(new HttpMethod(method), ReservationsApi.Url(path));
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        using var response = await client.SendAsync(request, Ct);

        var problem = await response.ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal("The request is invalid", problem.GetProperty("title").GetString());
        var errors = problem.GetProperty("errors");
        Assert.True(errors.TryGetProperty(field, out var messages), $"{what}: errors {errors} do not name {field}");
        Assert.Contains(message, string.Join(" ", messages.EnumerateArray().Select(m => m.GetString())), StringComparison.Ordinal);
        Assert.DoesNotContain("System.", errors.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("parameter \"", errors.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Malformed_request_headers_are_named_in_errors()
    {
        await using var app = new ReservationsApp(null, new AppSetup());
        app.Start();
        using var client = app.CreateClient();

        using var placing = await client.PlaceAsync(Bodies.Valid(Bodies.UniqueDay()), "has space");
        var keyProblem = await placing.ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.True(keyProblem.GetProperty("errors").TryGetProperty("Idempotency-Key", out _));

        using var cancel = new HttpRequestMessage(HttpMethod.Post, ReservationsApi.Url($"/reservations/{Guid.NewGuid()}/cancel"));
        Assert.True(cancel.Headers.TryAddWithoutValidation("If-Match", "yesterday"));
        using var cancelling = await client.SendAsync(cancel, Ct);
        var ifMatchProblem = await cancelling.ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.True(ifMatchProblem.GetProperty("errors").TryGetProperty("If-Match", out _));
    }

    private static string Replace(string json, string field, string value)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject();
        node[field] = System.Text.Json.Nodes.JsonNode.Parse(value);
        return node.ToJsonString();
    }
}
