using EventSourcing.Commands;
using EventSourcing.Deciders;
using EventSourcing.Storage;
using EventSourcing.Testing.Contracts.Domain;
using EventSourcing.Tests.Shared.Domain;
using Mediator;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace EventSourcing.Core.Tests.Commands;

/// <summary>
/// One outcome per command id through the whole pipeline (Mediator, validation, idempotency, the in-memory idempotency
/// store), under concurrent sends released together: the same payload runs once, other payloads are refused, a failure
/// keeps its payload bound, and the retention's end drops the kept result but not the binding.
/// </summary>
public sealed class IdempotentPipelineRaceTests : IDisposable
{
    private const int Senders = 50;
    private static readonly TimeSpan Retention = TimeSpan.FromHours(1);
    private readonly FakeTimeProvider _time = new();
    private readonly ServiceProvider _services;

    public IdempotentPipelineRaceTests() => _services = Pipeline.Build(configure: services =>
    {
        services.AddSingleton<TimeProvider>(_time);
        services.Configure<IdempotencyOptions>(options => options.Retention = Retention);
    });

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private IMediator Mediator => _services.GetRequiredService<IMediator>();

    private int HandlerCalls => _services.GetRequiredService<HandlerCalls>().Count;

    public void Dispose() => _services.Dispose();

    [Fact]
    public async Task Fifty_concurrent_sends_of_one_command_run_it_once_and_all_get_its_result()
    {
        var command = new AddToTally("a", 3, "once", Guid.NewGuid());

        var outcomes = await SendTogetherAsync(Enumerable.Repeat(command, Senders));

        Assert.All(outcomes, o => Assert.Null(o.Error));
        Assert.Single(outcomes.Select(o => o.Result).Distinct());
        Assert.Equal(1, HandlerCalls);
        Assert.Equal(1, await EventsIn("tally-a"));
    }

    [Fact]
    public async Task Fifty_concurrent_payloads_under_one_id_run_exactly_one_and_refuse_the_others()
    {
        var id = Guid.NewGuid();

        var amounts = Enumerable.Range(1, 100).Where(amount => amount != 13).Take(Senders); // 13 fails validation, before idempotency
        var outcomes = await SendTogetherAsync(amounts.Select(amount => new AddToTally("b", amount, "race", id)));

        var ran = outcomes.Where(o => o.Error is null).ToArray();
        Assert.Single(ran);
        Assert.Equal(Senders - 1, outcomes.Count(o => o.Error is IdempotencyKeyReusedException));
        Assert.Equal(1, HandlerCalls);
        Assert.Equal(1, await EventsIn("tally-b"));
        var again = await Mediator.Send(ran[0].Command, Ct); // the winner, replayed
        Assert.Equal(ran[0].Result, again);
        Assert.Equal(1, HandlerCalls);
    }

    [Fact]
    public async Task A_failed_command_keeps_its_payload_bound_under_concurrent_retries_of_it_and_of_another_payload()
    {
        var id = Guid.NewGuid();
        await _services.GetRequiredService<DeciderHandler<TallyCommand, TallyEvent, Tally>>().HandleAsync("tally-c", new CloseTally("c"), Ct);
        var failing = new AddToTally("c", 2, "late", id);
        await Assert.ThrowsAsync<DomainException>(async () => await Mediator.Send(failing, Ct));
        var callsBefore = HandlerCalls;

        var commands = Enumerable.Range(0, Senders).Select(i => i % 2 == 0 ? failing : failing with { Amount = 3 }).ToArray();
        var outcomes = await SendTogetherAsync(commands);

        var same = outcomes.Where(o => o.Command == failing).ToArray();
        var other = outcomes.Where(o => o.Command != failing).ToArray();
        Assert.All(same, o => Assert.IsType<DomainException>(o.Error)); // ran again, and failed again
        Assert.All(other, o => Assert.IsType<IdempotencyKeyReusedException>(o.Error));
        Assert.Equal(same.Length, HandlerCalls - callsBefore);
    }

    [Fact]
    public async Task The_end_of_the_retention_drops_the_kept_result_not_the_binding_another_payload_is_still_refused_the_same_runs_once_again()
    {
        // A command that appends nothing: the decider handler would also know the id by the events it appended.
        var id = Guid.NewGuid();
        var first = new EnrolMember(Guid.NewGuid(), "Ada", "gold", id);
        var second = first with { Plan = "silver" };
        await Mediator.Send(first, Ct);

        _time.Advance(Retention); // exactly the retention: the result is still kept
        var replay = await Mediator.Send(first, Ct);
        _time.Advance(TimeSpan.FromSeconds(1)); // past it: the result is gone, the payload still binds the id
        var refusedAfterTheRetention = await Record.ExceptionAsync(async () => await Mediator.Send(second, Ct));
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sends = Enumerable.Range(0, Senders).Select(_ => Task.Run(async () =>
        {
            await gate.Task;
            return await Mediator.Send(first, Ct);
        }, Ct)).ToArray();
        gate.SetResult();
        var results = await Task.WhenAll(sends).WaitAsync(TimeSpan.FromSeconds(20), Ct);

        Assert.Equal(new Enrolment(first.MemberId, "gold", 1), replay);
        Assert.IsType<IdempotencyKeyReusedException>(refusedAfterTheRetention);
        Assert.Equal([new Enrolment(first.MemberId, "gold", 2)], results.Distinct()); // ran once again, for all of them
        Assert.Equal(2, HandlerCalls);
        await Assert.ThrowsAsync<IdempotencyKeyReusedException>(async () => await Mediator.Send(second, Ct));
    }

    /// <summary>Sends every command at once (released together by one gate) and brings back each outcome.</summary>
    private async Task<Outcome[]> SendTogetherAsync(IEnumerable<AddToTally> commands)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sends = commands.Select(command => Task.Run(async () =>
        {
            await gate.Task;
            try
            {
                return new Outcome(command, await Mediator.Send(command, Ct), null);
            }
            catch (Exception exception)
            {
                return new Outcome(command, null, exception);
            }
        }, Ct)).ToArray();
        gate.SetResult();
        return await Task.WhenAll(sends).WaitAsync(TimeSpan.FromSeconds(20), Ct);
    }

    private async Task<int> EventsIn(string stream) => await _services.GetRequiredService<IEventStore>().ReadStreamAsync(stream, 1, Ct).CountAsync(Ct);

    private sealed record Outcome(AddToTally Command, CommandResult? Result, Exception? Error);
}
