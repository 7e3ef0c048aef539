using EventSourcing.Tests.Shared.Domain;
using EventSourcing.Deciders;
using EventSourcing.Hosting;
using FluentValidation;
using Microsoft.Extensions.DependencyInjection;

namespace EventSourcing.Core.Tests.Commands;

internal static class Pipeline
{
    /// <summary>A container as an application sets it up: EventSourcing (in memory), Mediator, validators.</summary>
    public static ServiceProvider Build(Action<CommandHandlingOptions>? commands = null)
    {
        var services = new ServiceCollection();
        services.AddEventSourcing(eventSourcing =>
        {
            TallyDecider.Register(eventSourcing.Events);
            eventSourcing.AddDecider(TallyDecider.Decider);
            if (commands is not null)
            {
                eventSourcing.ConfigureCommands(commands);
            }
        });
        services.AddMediator();
        services.AddValidatorsFromAssemblyContaining<AddToTallyValidator>(ServiceLifetime.Singleton);
        services.AddSingleton<HandlerCalls>();
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateScopes = true, ValidateOnBuild = true });
    }
}
