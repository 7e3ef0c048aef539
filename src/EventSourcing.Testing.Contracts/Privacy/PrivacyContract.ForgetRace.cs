using EventSourcing.Erasure;
using EventSourcing.Events;
using EventSourcing.Privacy;
using EventSourcing.Projections;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EventSourcing.Testing.Contracts.Privacy;

public abstract partial class PrivacyContract
{
    /// <summary>
    /// A forget that lands between an async projection reading an event and writing its view: the view is written with
    /// the placeholders a read after the forget shows, at once, and the projection goes on. Deterministic: the projection
    /// holds inside <c>Evolve</c> (the event already read, in plaintext) until the forget has returned.
    /// </summary>
    /// <summary>A forget between reading an event and writing its view writes placeholders without error or delay.</summary>
    [Fact]
    public async Task A_forget_between_reading_an_event_and_writing_its_view_writes_placeholders_without_error_or_delay()
    {
        var logs = new LogCollector();
        var guest = Guid.NewGuid();
        var projection = new HeldGuestCardProjection(guest);
        await using var host = await StartHostAsync(
            es =>
            {
                GuestDecider.Register(es.Events);
                es.AddDecider(GuestDecider.Decider);
                es.AddProjection(projection);
            },
            services => services.AddLogging(logging => logging.AddProvider(logs).SetMinimumLevel(LogLevel.Trace)));
        var handler = Handler(host);
        var marker = $"mk{Guid.NewGuid():N}";

        var registered = await handler.HandleAsync(GuestDecider.StreamOf(guest), new RegisterGuest(guest, $"Ada {marker}", $"ada.{marker}@example.com", [$"+44 {marker}"]), Ct);
        await projection.Entered.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);   // the event is read, in plaintext, and held in Evolve
        await host.Services.GetRequiredService<PersonalDataEraser>().ForgetAsync(guest.ToString(), Ct);
        projection.Release.Set();
        var written = await host.Views.WaitForPositionAsync(projection.Name, registered.Position, TimeSpan.FromSeconds(3), Ct);
        var card = await host.Views.FindAsync<GuestCard>(GuestDecider.StreamOf(guest), Ct);
        var later = await handler.HandleAsync(GuestDecider.StreamOf(guest), new VisitGuest(guest, new DateOnly(2030, 1, 1)), Ct);
        var laterApplied = await host.Views.WaitForPositionAsync(projection.Name, later.Position, TimeSpan.FromSeconds(3), Ct);
        var afterLater = await host.Views.FindAsync<GuestCard>(GuestDecider.StreamOf(guest), Ct);
        var deadLetters = await host.ProjectionStore.ReadDeadLettersAsync(projection.Name, Ct);

        var problems = logs.Lines.Where(line => line.StartsWith("Warning ", StringComparison.Ordinal) || line.StartsWith("Error ", StringComparison.Ordinal) || line.StartsWith("Critical ", StringComparison.Ordinal)).ToArray();
        Assert.True(problems.Length == 0, $"warnings or errors were logged:\n{string.Join('\n', problems)}");
        Assert.True(written, "the view of the held event was not written within 3 s of the release");
        Assert.Equal(("[erased]", "(forgotten)", true), (card!.Name, card.Email, card.Erased));
        Assert.Null(card.Phones);
        Assert.True(laterApplied, "a later event was not applied within 3 s");
        Assert.Equal(1, afterLater!.Visits);
        Assert.Empty(deadLetters);
        Assert.DoesNotContain(marker, await ReadAtRestAsync(host), StringComparison.Ordinal);
    }

    /// <summary>Guest cards, holding in <c>Evolve</c> on the registration of one guest until released (once).</summary>
    private sealed class HeldGuestCardProjection(Guid held) : Projection<GuestCard>
    {
        private int _holds;

        public override string Name => "guest-cards-held";

        /// <summary>Completed when <c>Evolve</c> has the held guest's registration in hand.</summary>
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ManualResetEventSlim Release { get; } = new();

        public override IEnumerable<string> ViewIds(EventEnvelope envelope) => envelope.Data is GuestEvent ? [envelope.StreamId] : [];

        public override GuestCard? Evolve(string id, GuestCard? view, EventEnvelope envelope)
        {
            if (envelope.Data is GuestRegistered r && r.GuestId == held && Interlocked.Increment(ref _holds) == 1)
            {
                Entered.TrySetResult();
                Release.Wait(TimeSpan.FromSeconds(60));
            }

            return (view, envelope.Data) switch
            {
                (null, GuestRegistered e) => new GuestCard(id, e.GuestId, e.Name, e.Email, e.Phones, 0),
                (not null, GuestVisited) => view with { Visits = view.Visits + 1 },
                _ => view,
            };
        }
    }
}
