using EventSourcing.Deciders;
using EventSourcing.Docs.Tests.Snippets.Readme;
using EventSourcing.Hosting;
using EventSourcing.Testing.Contracts.Domain;
using EventSourcing.Tests.Shared.Domain;
using FluentValidation;
using TallyDecider = EventSourcing.Docs.Tests.Snippets.Readme.TallyDecider;
using Microsoft.Extensions.DependencyInjection;

namespace EventSourcing.Docs.Tests;

/// <summary>The README's decider example runs as written: the command is appended and the stream loads with it.</summary>
public sealed class ReadmeDeciderTests
{
    [Fact]
    public async Task The_README_decider_sends_a_command_and_loads_its_stream()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var services = new ServiceCollection();
        services.AddEventSourcing(es => es
            .AddDecider(TallyDecider.Decider, routes => routes.On<TallyCommand>(c => $"tally-{c.TallyId}")));
        services.AddValidatorsFromAssemblyContaining<AddToTallyValidator>(ServiceLifetime.Singleton);
        await using var provider = services.BuildServiceProvider();

        var (result, tally) = await DeciderWiring.RunAsync(
            new ServiceCollection(),
            provider.GetRequiredService<ICommandSender>(),
            provider.GetRequiredService<DeciderHandler<TallyCommand, TallyEvent, Tally>>(),
            cancellationToken);

        Assert.Equal(new CommandResult("tally-t", 1, 1, 1), result);
        Assert.Equal(new StreamState<Tally>("tally-t", new Tally.Open(2), 1, 1), tally);
    }
}
