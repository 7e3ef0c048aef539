using System.Collections;
using System.Collections.Concurrent;
using System.Diagnostics;
using EventSourcing.Tests.Shared.Postgres;
using OpenTelemetry.Trace;
using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.Hosting;

/// <summary>
/// One placement is one trace, exported by OpenTelemetry (its in-memory exporter): the HTTP request, its command and
/// append, then the confirmation reactor's reactions and commands down to the confirmation; the views' pages link to it.
/// </summary>
public abstract class TracingTests(StoreUnderTest store)
{
    [Fact]
    public async Task A_placement_is_one_trace_from_the_request_through_the_reactor_to_the_confirmation()
    {
        var spans = new ExportedSpans();
        await using var app = await store.StartAsync(new AppSetup(Services: services => services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(spans))));
        using var client = app.CreateClient();

        // The request carries a trace of the test's: every in-process app of the test run exports to every exporter, so
        // the placement's trace is found by its id, not as the first POST seen.
        var traceId = ActivityTraceId.CreateRandom();
        Placed placed;
        using (var post = new HttpRequestMessage(HttpMethod.Post, ReservationsApi.Url("/reservations")) { Content = System.Net.Http.Json.JsonContent.Create(Bodies.Valid(Bodies.UniqueDay()), options: ReservationsApi.Json) })
        {
            post.Headers.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom()}-01");
            using var response = await client.SendAsync(post, TestContext.Current.CancellationToken);
            placed = await response.ReadAsync<Placed>(System.Net.HttpStatusCode.Accepted);
        }

        var outcome = await client.WaitForOutcomeAsync(placed);
        var request = await Eventually.Async(
            () => Task.FromResult(spans.FirstOrDefault(s => s.Kind == ActivityKind.Server && s.TraceId == traceId)),
            s => s is not null && spans.Any(c => c.TraceId == s.TraceId && c.DisplayName == "command ConfirmReservation"),
            "the confirmation's command exported in the request's trace");
        var trace = spans.Where(s => s.TraceId == request!.TraceId).ToList();

        Assert.Equal("confirmed", outcome.Status);
        var place = Assert.Single(trace, s => s.DisplayName == "command PlaceReservation");
        var hold = Assert.Single(trace, s => s.DisplayName == "command HoldSeats");
        var confirm = Assert.Single(trace, s => s.DisplayName == "command ConfirmReservation");
        var reactions = trace.Where(s => s.DisplayName == "react reservation-confirmation").ToList();
        var appends = trace.Where(s => s.Kind == ActivityKind.Producer).ToList();
        Assert.Equal(request!.SpanId, place.ParentSpanId);
        Assert.Equal(["append day", "append reservation", "append reservation"], appends.Select(s => s.DisplayName).Order(StringComparer.Ordinal));
        Assert.Equal(2, reactions.Count);
        Assert.All(reactions, r => Assert.Contains(appends, a => a.SpanId == r.ParentSpanId && r.Links.Any(l => l.Context.SpanId == a.SpanId)));
        Assert.Contains(reactions, r => r.SpanId == hold.ParentSpanId);
        Assert.Contains(reactions, r => r.SpanId == confirm.ParentSpanId);
        Assert.All(trace.Where(s => s.DisplayName.StartsWith("command ", StringComparison.Ordinal)), s => Assert.Equal("succeeded", s.GetTagItem("eventsourcing.command.outcome")));
        await Eventually.Async(
            () => Task.FromResult(spans.Where(s => s.DisplayName == "project reservation-details").SelectMany(s => s.Links).Count(l => l.Context.TraceId == request.TraceId)),
            links => links >= 2,
            "the details view's pages linked to the placement's and the confirmation's appends");
        AssertDatabase(trace);
    }

    /// <summary>What the store adds to the trace.</summary>
    protected virtual void AssertDatabase(IReadOnlyList<Activity> trace)
    {
    }

    /// <summary>The exporter's collection, safe to read while spans are exported on other threads.</summary>
    private sealed class ExportedSpans : ICollection<Activity>
    {
        private readonly ConcurrentQueue<Activity> _spans = new();

        public int Count => _spans.Count;

        public bool IsReadOnly => false;

        public void Add(Activity item) => _spans.Enqueue(item);

        public void Clear() => throw new NotSupportedException();

        public bool Contains(Activity item) => _spans.Contains(item);

        public void CopyTo(Activity[] array, int arrayIndex) => _spans.CopyTo(array, arrayIndex);

        public bool Remove(Activity item) => throw new NotSupportedException();

        public IEnumerator<Activity> GetEnumerator() => _spans.GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}

public sealed class InMemoryTracingTests() : TracingTests(new InMemoryStore());

public sealed class PostgresTracingTests(PostgresFixture postgres) : TracingTests(new PostgresStore(postgres))
{
    /// <inheritdoc />
    protected override void AssertDatabase(IReadOnlyList<Activity> trace) =>
        Assert.Contains(trace, s => s.Source.Name == "Npgsql" && s.Kind == ActivityKind.Client); // Npgsql's spans, alongside
}
