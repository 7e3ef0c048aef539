using EventSourcing.Testing.Contracts.Domain;
using EventSourcing.Tests.Shared.Domain;
using EventSourcing.Deciders;
using EventSourcing.Hosting;
using FluentValidation;
using Microsoft.Extensions.DependencyInjection;

namespace EventSourcing.Core.Tests.Commands;

internal static class Pipeline
{
    /// <summary>
    /// A container as an application sets it up: EventSourcing (in memory), Mediator, validators; <paramref name="configure"/>
    /// registers services first (a <see cref="TimeProvider"/>, options), so EventSourcing's defaults give way to them.
    /// </summary>
    public static ServiceProvider Build(Action<CommandHandlingOptions>? commands = null, Action<IServiceCollection>? configure = null)
    {
        var services = new ServiceCollection();
        configure?.Invoke(services);
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
