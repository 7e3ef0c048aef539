using System.Net;
using System.Text;

namespace Reservations.Tests.OpenApi;

/// <summary>
/// The response check fails on what the committed document does not describe and lets through what it does: canned
/// responses, as if from the API, go through <see cref="OpenApiResponseCheck"/> against the committed document.
/// </summary>
public sealed class OpenApiResponseCheckTests
{
    private const string Json = "application/json";
    private const string ProblemJson = "application/problem+json";
    private const string Problem = """{"type":"https://tools.ietf.org/html/rfc9110#section-15.5.5","title":"Not Found","status":404}""";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_documented_response_passes_and_can_still_be_read()
    {
        using var response = await SendAsync(HttpMethod.Get, "/days/2026-05-01/availability?unused=1", Answer(HttpStatusCode.OK, Json, """{"day":"2026-05-01","capacity":20,"held":3,"available":17}"""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("\"available\":17", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_documented_response_on_a_path_template_with_its_documented_headers_passes()
    {
        var answer = Answer(HttpStatusCode.NotFound, ProblemJson, Problem);
        answer.Headers.Add("X-View-Up-To-Date", "false");
        answer.Headers.Add("Retry-After", "1");

        using var response = await SendAsync(HttpMethod.Get, $"/reservations/{Guid.NewGuid()}", answer);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task A_documented_response_without_a_body_passes()
    {
        using var response = await SendAsync(HttpMethod.Post, "/reservations", new HttpResponseMessage(HttpStatusCode.RequestHeaderFieldsTooLarge));

        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, response.StatusCode);
    }

    [Theory]
    [InlineData("/.git/config")]
    [InlineData("/openapi/v1.json")]
    [InlineData("/scalar/v1")]
    [InlineData("/reservations/a/b/c")]
    public async Task A_path_the_document_does_not_describe_is_not_checked(string path)
    {
        using var response = await SendAsync(HttpMethod.Get, path, Answer(HttpStatusCode.NotFound, "text/html", "<p>not described</p>"));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task A_status_the_operation_does_not_list_fails()
    {
        var failure = await Assert.ThrowsAsync<OpenApiContractException>(() =>
            SendAsync(HttpMethod.Post, $"/reservations/{Guid.NewGuid()}/cancel", Answer(HttpStatusCode.Created, Json, "{}")));

        Assert.Contains("POST /reservations/", failure.Message, StringComparison.Ordinal);
        Assert.Contains("201", failure.Message, StringComparison.Ordinal);
        Assert.Contains("POST /reservations/{id}/cancel", Assert.Single(failure.Mismatches), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/HEALTH")]
    [InlineData("/health/")]
    public async Task A_path_is_matched_as_the_app_routes_it(string path)
    {
        var failure = await Assert.ThrowsAsync<OpenApiContractException>(() => SendAsync(HttpMethod.Get, path, Answer(HttpStatusCode.Created, Json, "{}")));

        Assert.Contains("GET /health", Assert.Single(failure.Mismatches), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_media_type_the_response_does_not_document_fails()
    {
        var failure = await Assert.ThrowsAsync<OpenApiContractException>(() =>
            SendAsync(HttpMethod.Get, "/health", Answer(HttpStatusCode.OK, "text/plain", "Healthy")));

        Assert.Contains("text/plain", Assert.Single(failure.Mismatches), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_body_without_a_content_type_fails()
    {
        var answer = new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(Encoding.UTF8.GetBytes("""{"status":"Healthy","head":4}""")) };

        var failure = await Assert.ThrowsAsync<OpenApiContractException>(() => SendAsync(HttpMethod.Get, "/health", answer));

        Assert.Contains("no Content-Type", Assert.Single(failure.Mismatches), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_contract_header_the_response_does_not_document_fails()
    {
        var answer = Answer(HttpStatusCode.NotFound, ProblemJson, Problem);
        answer.Headers.ETag = new System.Net.Http.Headers.EntityTagHeaderValue("\"7\"");

        var failure = await Assert.ThrowsAsync<OpenApiContractException>(() => SendAsync(HttpMethod.Get, $"/reservations/{Guid.NewGuid()}", answer));

        Assert.Contains("ETag", Assert.Single(failure.Mismatches), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_body_that_breaks_the_schema_fails()
    {
        var failure = await Assert.ThrowsAsync<OpenApiContractException>(() =>
            SendAsync(HttpMethod.Get, "/days/2026-05-01/availability", Answer(HttpStatusCode.OK, Json, """{"day":"2026-05-01","capacity":"twenty","held":3,"available":17}""")));

        var mismatch = Assert.Single(failure.Mismatches);
        Assert.Contains("/capacity", mismatch, StringComparison.Ordinal);
        Assert.Contains("\"twenty\"", mismatch, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_body_that_lacks_a_required_property_of_a_referenced_schema_fails()
    {
        var failure = await Assert.ThrowsAsync<OpenApiContractException>(() =>
            SendAsync(HttpMethod.Get, $"/guests/{Guid.NewGuid()}/reservations", Answer(HttpStatusCode.OK, Json, """[{"unexpected":true}]""")));

        Assert.Contains("/0", Assert.Single(failure.Mismatches), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_mismatch_of_a_response_is_named()
    {
        var answer = Answer(HttpStatusCode.NotFound, Json, Problem);
        answer.Headers.ETag = new System.Net.Http.Headers.EntityTagHeaderValue("\"7\"");

        var failure = await Assert.ThrowsAsync<OpenApiContractException>(() => SendAsync(HttpMethod.Get, $"/reservations/{Guid.NewGuid()}", answer));

        Assert.Equal(2, failure.Mismatches.Count);
        Assert.Contains("GET /reservations/", failure.Message, StringComparison.Ordinal);
        Assert.Contains("404", failure.Message, StringComparison.Ordinal);
        Assert.Contains("ETag", failure.Message, StringComparison.Ordinal);
        Assert.Contains("application/json", failure.Message, StringComparison.Ordinal);
    }

    private static HttpResponseMessage Answer(HttpStatusCode status, string mediaType, string body) =>
        new(status) { Content = new StringContent(body, Encoding.UTF8, mediaType) };

    private static async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, HttpResponseMessage answer)
    {
        using var client = new HttpClient(new OpenApiResponseCheck { InnerHandler = new Canned(answer) }) { BaseAddress = new Uri("http://localhost") };
        using var request = new HttpRequestMessage(method, path);
        return await client.SendAsync(request, Ct);
    }

    /// <summary>Answers any request with the one response it was given.</summary>
    private sealed class Canned(HttpResponseMessage answer) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            answer.RequestMessage = request;
            return Task.FromResult(answer);
        }
    }
}
