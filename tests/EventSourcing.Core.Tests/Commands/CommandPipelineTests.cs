using EventSourcing.Commands;
using EventSourcing.Testing.Contracts.Domain;
using EventSourcing.Tests.Shared.Domain;
using EventSourcing.Deciders;
using EventSourcing.Storage;
using Mediator;
using Microsoft.Extensions.DependencyInjection;

namespace EventSourcing.Core.Tests.Commands;

public sealed class CommandPipelineTests : IDisposable
{
    private readonly ServiceProvider _services = Pipeline.Build();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private IMediator Mediator => _services.GetRequiredService<IMediator>();

    private IEventStore Store => _services.GetRequiredService<IEventStore>();

    private int HandlerCalls => _services.GetRequiredService<HandlerCalls>().Count;

    public void Dispose() => _services.Dispose();

    [Fact]
    public async Task An_invalid_command_reports_every_failing_property_of_every_validator_and_stores_nothing()
    {
        var error = await Assert.ThrowsAsync<CommandValidationException>(async () =>
            await Mediator.Send(new AddToTally("", 13, new string('x', 21), Guid.NewGuid()), Ct));

        Assert.Equal(["Amount", "Note", "TallyId"], error.Errors.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(["13 is unlucky."], error.Errors["Amount"]);
        Assert.Equal(nameof(AddToTally), error.CommandName);
        Assert.Equal(0, HandlerCalls);
        Assert.Equal(0, await Store.ReadHeadPositionAsync(Ct));
    }

    [Fact]
    public async Task A_valid_command_goes_through_to_the_decider_and_is_stored()
    {
        var result = await Mediator.Send(new AddToTally("a", 4, "first"), Ct);

        Assert.Equal(new CommandResult("tally-a", 1, 1, 1), result);
        var stored = await Store.ReadStreamAsync("tally-a", 1, Ct).SingleAsync(Ct);
        Assert.Equal(new TallyIncreased(4, 4), stored.Data);
    }

    [Fact]
    public async Task The_same_command_id_sent_10_times_concurrently_executes_once_and_every_caller_gets_the_first_result()
    {
        var command = new AddToTally("b", 3, "once", Guid.NewGuid());
        using var start = new ManualResetEventSlim();

        var sends = Enumerable.Range(0, 10).Select(_ => Task.Run(async () =>
        {
            start.Wait(Ct);
            return await Mediator.Send(command, Ct);
        })).ToArray();
        start.Set();
        var results = await Task.WhenAll(sends);

        Assert.Single(results.Distinct());
        Assert.Equal(new CommandResult("tally-b", 1, 1, 1), results[0]);
        Assert.Equal(1, HandlerCalls);
        Assert.Equal(1, await Store.ReadStreamAsync("tally-b", 1, Ct).CountAsync(Ct));
    }

    [Fact]
    public async Task A_repeated_command_id_returns_the_first_result_and_appends_nothing()
    {
        var command = new AddToTally("c", 3, "once", Guid.NewGuid());
        var first = await Mediator.Send(command, Ct);
        await Mediator.Send(new AddToTally("c", 1, "other"), Ct);

        var again = await Mediator.Send(command with { }, Ct);

        Assert.Equal(first, again);
        Assert.Equal(2, HandlerCalls);
        Assert.Equal(2, await Store.ReadStreamAsync("tally-c", 1, Ct).CountAsync(Ct));
    }

    [Fact]
    public async Task A_command_id_reused_with_another_payload_is_refused_and_appends_nothing()
    {
        var id = Guid.NewGuid();
        await Mediator.Send(new AddToTally("d", 3, "first", id), Ct);

        var error = await Assert.ThrowsAsync<IdempotencyKeyReusedException>(async () => await Mediator.Send(new AddToTally("d", 4, "first", id), Ct));

        Assert.Equal(id, error.CommandId);
        Assert.Equal(1, HandlerCalls);
        Assert.Equal(1, await Store.ReadStreamAsync("tally-d", 1, Ct).CountAsync(Ct));
    }

    [Fact]
    public async Task Validation_runs_before_idempotency_so_an_invalid_attempt_does_not_burn_the_id()
    {
        var id = Guid.NewGuid();
        await Assert.ThrowsAsync<CommandValidationException>(async () => await Mediator.Send(new AddToTally("e", 0, "bad", id), Ct));

        var result = await Mediator.Send(new AddToTally("e", 2, "good", id), Ct);

        Assert.Equal(1, result.AppendedEvents);
    }

    [Fact]
    public async Task A_command_refused_by_the_decider_binds_its_id_to_its_payload_the_same_one_runs_again_another_is_refused()
    {
        var id = Guid.NewGuid();
        var handler = _services.GetRequiredService<DeciderHandler<TallyCommand, TallyEvent, Tally>>();
        await handler.HandleAsync("tally-f", new CloseTally("f"), Ct);

        await Assert.ThrowsAsync<DomainException>(async () => await Mediator.Send(new AddToTally("f", 2, "late", id), Ct));

        await using (var claim = await _services.GetRequiredService<IIdempotencyStore>().ClaimAsync(new IdempotencyRecord(id, "probe", "other", null, DateTimeOffset.UtcNow), Ct))
        {
            Assert.NotNull(claim.Kept);
            Assert.Null(claim.Kept.Response);
            Assert.Equal(nameof(AddToTally), claim.Kept.CommandType);
        }

        await Assert.ThrowsAsync<DomainException>(async () => await Mediator.Send(new AddToTally("f", 2, "late", id), Ct)); // ran again
        await Assert.ThrowsAsync<IdempotencyKeyReusedException>(async () => await Mediator.Send(new AddToTally("f", 3, "late", id), Ct));
    }
}
