using System.Globalization;
using System.Linq.Expressions;
using System.Net;
using EventSourcing.Projections;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Reservations.GettingReservation;
using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.Flow;

/// <summary><c>GET /reservations/{id}?atLeast=</c>: a position no write returned is refused at once, and a read that waited says whether the view got there.</summary>
public sealed class ReadYourWritesTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    // Far longer than any test: a read that waits for it would fail the test by its own timeout.
    private static readonly Dictionary<string, string?> LongWait = new() { ["Reservations:ReadYourWritesTimeout"] = "00:10:00" };

    [Fact]
    public async Task A_negative_position_is_a_400_at_once()
    {
        await using var app = await new InMemoryStore().StartAsync(LongWait);
        using var client = app.CreateClient();
        var placed = await client.PlaceAcceptedAsync(Bodies.Valid(Bodies.UniqueDay()));

        using var response = await client.GetAsync(ReservationsApi.Url($"/reservations/{placed.Id}?atLeast=-1"), Ct);
        var problem = await response.ReadProblemAsync(HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("atLeast", out _), problem.ToString());
    }

    [Fact]
    public async Task A_position_no_write_returned_waits_the_bound_then_says_the_view_is_not_up_to_date()
    {
        await using var app = await new InMemoryStore().StartAsync(new Dictionary<string, string?> { ["Reservations:ReadYourWritesTimeout"] = "00:00:00.2" });
        using var client = app.CreateClient();
        var placed = await client.PlaceAcceptedAsync(Bodies.Valid(Bodies.UniqueDay()));

        using var response = await client.GetAsync(ReservationsApi.Url(string.Create(CultureInfo.InvariantCulture, $"/reservations/{placed.Id}?atLeast={placed.Position + 1_000}")), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("false", response.Headers.GetValues(GetReservationEndpoint.UpToDateHeader).Single());
    }

    [Fact]
    public async Task A_read_that_waited_says_the_view_is_up_to_date()
    {
        await using var app = await new InMemoryStore().StartAsync(LongWait);
        using var client = app.CreateClient();
        var placed = await client.PlaceAcceptedAsync(Bodies.Valid(Bodies.UniqueDay()));

        using var response = await client.GetAsync(ReservationsApi.Url(string.Create(CultureInfo.InvariantCulture, $"/reservations/{placed.Id}?atLeast={placed.Position}")), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("true", response.Headers.GetValues(GetReservationEndpoint.UpToDateHeader).Single());

        using var plain = await client.GetAsync(ReservationsApi.Url($"/reservations/{placed.Id}"), Ct);
        Assert.False(plain.Headers.Contains(GetReservationEndpoint.UpToDateHeader)); // nothing was waited for
    }

    [Fact]
    public async Task A_view_that_stays_behind_is_said_to_be_behind_and_a_missing_reservation_is_to_be_asked_again()
    {
        var behind = new BehindViews();
        await using var app = await new InMemoryStore().StartAsync(new AppSetup(
            new Dictionary<string, string?> { ["Reservations:ReadYourWritesTimeout"] = "00:00:00.2" },
            services =>
            {
                var original = services.Last(d => d.ServiceType == typeof(IViewReader)).ImplementationFactory!;
                services.Replace(ServiceDescriptor.Singleton<IViewReader>(provider => new BehindViews.Reader(behind, behind.Inner = (IViewReader)original(provider))));
            }));
        using var client = app.CreateClient();
        var placed = await client.PlaceAcceptedAsync(Bodies.Valid(Bodies.UniqueDay()));
        var url = ReservationsApi.Url(string.Create(CultureInfo.InvariantCulture, $"/reservations/{placed.Id}?atLeast={placed.Position}"));

        // The real view gets the reservation first (the reader under test never says it is up to date).
        _ = app.Services.GetRequiredService<IViewReader>();
        Assert.True(await behind.Inner!.WaitForPositionAsync<ReservationDetails>(placed.Position, TimeSpan.FromSeconds(30), Ct), "the view never got the reservation");

        behind.Hide = true; // as if the view had not got the reservation yet
        using (var missing = await client.GetAsync(url, Ct))
        {
            var problem = await missing.ReadProblemAsync(HttpStatusCode.NotFound);
            Assert.Contains("not in the view yet", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
            Assert.Equal("false", missing.Headers.GetValues(GetReservationEndpoint.UpToDateHeader).Single());
            Assert.NotNull(missing.Headers.RetryAfter);
        }

        behind.Hide = false; // it is there, though the view is not said to be up to date
        using var stale = await client.GetAsync(url, Ct);
        Assert.Equal(HttpStatusCode.OK, stale.StatusCode);
        Assert.Equal("false", stale.Headers.GetValues(GetReservationEndpoint.UpToDateHeader).Single());
    }

    /// <summary>The app's view reader, except that the views never reach a position, and may hide every view.</summary>
    private sealed class BehindViews
    {
        public volatile bool Hide;

        /// <summary>The app's own reader, under this one.</summary>
        public IViewReader? Inner { get; set; }

        public sealed class Reader(BehindViews behind, IViewReader inner) : IViewReader
        {
            public async Task<TView?> FindAsync<TView>(string id, CancellationToken cancellationToken)
                where TView : class =>
                behind.Hide ? null : await inner.FindAsync<TView>(id, cancellationToken);

            public Task<IReadOnlyList<TView>> QueryAsync<TView>(Expression<Func<TView, bool>> predicate, CancellationToken cancellationToken)
                where TView : class =>
                inner.QueryAsync(predicate, cancellationToken);

            public Task<bool> WaitForPositionAsync<TView>(long position, TimeSpan timeout, CancellationToken cancellationToken)
                where TView : class =>
                Task.FromResult(false);

            public Task<bool> WaitForPositionAsync(string projection, long position, TimeSpan timeout, CancellationToken cancellationToken) =>
                Task.FromResult(false);
        }
    }
}
