using EventSourcing.Deciders;
using EventSourcing.Hosting;
using EventSourcing.Testing.Deciders;
using EventSourcing.Testing.Contracts.Domain;
using EventSourcing.Tests.Shared.Domain;
using FluentValidation;
using Microsoft.Extensions.DependencyInjection;

namespace EventSourcing.Docs.Tests.Snippets.Readme;

// README.md, "A decider": wiring the decider into an application, sending a command, loading a stream, specifications.
// ReadmeDeciderTests runs it: `commands` and `tallies` are what the container built from the same registration gives.
internal static class DeciderWiring
{
    public static async Task<(CommandResult Result, StreamState<Tally> Tally)> RunAsync(
        IServiceCollection services,
        ICommandSender commands,
        DeciderHandler<TallyCommand, TallyEvent, Tally> tallies,
        CancellationToken cancellationToken)
    {
        services.AddEventSourcing(es => es                             // in memory unless a store is chosen
            .AddDecider(TallyDecider.Decider, routes => routes.On<TallyCommand>(c => $"tally-{c.TallyId}")));
        services.AddValidatorsFromAssemblyContaining<AddToTallyValidator>(ServiceLifetime.Singleton);

        // Validated, idempotent, decided on its stream and appended (decided again after a conflict):
        CommandResult result = await commands.SendAsync(new AddToTally("t", 2, "note"), cancellationToken);

        // The state the decider folds, with its version and the position of its last event (from a snapshot when kept):
        StreamState<Tally> tally = await tallies.LoadAsync("tally-t", cancellationToken);

        DeciderSpecification.For(TallyDecider.Decider)
            .Given(new TallyIncreased(5, 5))
            .When(new AddToTally("t", 2, "note"))
            .Then(new TallyIncreased(2, 7));
        DeciderSpecification.For(TallyDecider.Decider)
            .Given(new TallyIncreased(5, 5))
            .When(new CloseTally("t"))
            .ThenState(new Tally.Closed(5));

        return (result, tally);
    }
}
