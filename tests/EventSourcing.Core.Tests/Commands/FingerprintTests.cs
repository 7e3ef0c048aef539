using EventSourcing.Commands;
using EventSourcing.Erasure;
using EventSourcing.Privacy;
using EventSourcing.Testing.Contracts.Domain;
using EventSourcing.Tests.Shared.Domain;
using Mediator;
using Microsoft.Extensions.DependencyInjection;

namespace EventSourcing.Core.Tests.Commands;

/// <summary>
/// Idempotency fingerprints of commands with personal data, through Mediator: equal payloads replay, another name under
/// the same id is refused, and once the member is forgotten every replay gets the same answer whatever name it carries
/// (nothing to tell a right guess from a wrong one).
/// </summary>
public sealed class FingerprintTests : IDisposable
{
    private readonly List<ServiceProvider> _containers = [];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        foreach (var container in _containers)
        {
            container.Dispose();
        }
    }

    [Fact]
    public async Task The_same_command_twice_has_the_same_fingerprint_and_replays_while_another_name_under_its_id_is_refused()
    {
        var services = Build();
        var mediator = services.GetRequiredService<IMediator>();
        var command = new EnrolMember(Guid.NewGuid(), "Ada Lovelace", "gold", Guid.NewGuid());

        var first = await mediator.Send(command, Ct);
        var kept = await KeptFingerprintAsync(services, command.CommandId);
        var replay = await mediator.Send(command with { }, Ct);
        var otherName = await Record.ExceptionAsync(async () => await mediator.Send(command with { Name = "Ada King" }, Ct));

        Assert.Equal(first, replay);
        Assert.Equal(kept, await KeptFingerprintAsync(services, command.CommandId));
        Assert.IsType<IdempotencyKeyReusedException>(otherName); // the personal value takes part in the fingerprint
        Assert.Equal(1, services.GetRequiredService<HandlerCalls>().Count);
    }

    [Fact]
    public async Task Processes_sharing_a_key_store_compute_equal_fingerprints_and_processes_with_other_keys_do_not()
    {
        var keys = new InMemoryKeyStore(MasterKey.Generate());
        var (one, two, elsewhere) = (Build(keys), Build(keys), Build());
        var command = new EnrolMember(Guid.NewGuid(), "Ada Lovelace", "gold", Guid.NewGuid());

        foreach (var services in new[] { one, two, elsewhere })
        {
            await services.GetRequiredService<IMediator>().Send(command, Ct);
        }

        var (fromOne, fromTwo, fromElsewhere) = (await KeptFingerprintAsync(one, command.CommandId), await KeptFingerprintAsync(two, command.CommandId), await KeptFingerprintAsync(elsewhere, command.CommandId));
        Assert.Equal(fromOne, fromTwo);
        Assert.NotEqual(fromOne, fromElsewhere); // keyed: without the member's key, nobody can compute it for a guess
    }

    [Fact]
    public async Task Once_the_member_is_forgotten_replays_with_the_right_and_a_wrong_name_get_the_same_answer()
    {
        var services = Build();
        var mediator = services.GetRequiredService<IMediator>();
        var command = new EnrolMember(Guid.NewGuid(), "Ada Lovelace", "gold", Guid.NewGuid());
        await mediator.Send(command, Ct);

        await services.GetRequiredService<PersonalDataEraser>().ForgetAsync(command.MemberId.ToString(), Ct);
        var right = await Record.ExceptionAsync(async () => await mediator.Send(command with { }, Ct));
        var wrong = await Record.ExceptionAsync(async () => await mediator.Send(command with { Name = "Grace Hopper" }, Ct));
        var rightAgain = await Record.ExceptionAsync(async () => await mediator.Send(command with { }, Ct));
        var newId = await Record.ExceptionAsync(async () => await mediator.Send(command with { CommandId = Guid.NewGuid() }, Ct));

        Assert.IsType<SubjectForgottenException>(right);
        Assert.IsType<SubjectForgottenException>(wrong);
        Assert.IsType<SubjectForgottenException>(rightAgain);
        Assert.IsType<SubjectForgottenException>(newId);
        Assert.Equal(right.Message, wrong.Message);
        Assert.Equal(1, services.GetRequiredService<HandlerCalls>().Count);
    }

    [Fact]
    public async Task With_new_keys_allowed_after_a_forget_replays_with_the_right_and_a_wrong_name_get_the_same_answer()
    {
        var services = Build(configure: options => options.AllowNewKeyAfterForget = true);
        var mediator = services.GetRequiredService<IMediator>();
        var command = new EnrolMember(Guid.NewGuid(), "Ada Lovelace", "gold", Guid.NewGuid());
        await mediator.Send(command, Ct);

        await services.GetRequiredService<PersonalDataEraser>().ForgetAsync(command.MemberId.ToString(), Ct);
        var right = await Record.ExceptionAsync(async () => await mediator.Send(command with { }, Ct));
        var wrong = await Record.ExceptionAsync(async () => await mediator.Send(command with { Name = "Grace Hopper" }, Ct));

        Assert.NotNull(right);
        Assert.Equal(right.GetType(), wrong?.GetType());
        Assert.Equal(right.Message, wrong!.Message);
        Assert.Equal(1, services.GetRequiredService<HandlerCalls>().Count);
    }

    private ServiceProvider Build(IKeyStore? keys = null, Action<PersonalDataOptions>? configure = null)
    {
        var services = Pipeline.Build(configure: services =>
        {
            if (keys is not null)
            {
                services.AddSingleton(keys);
            }

            if (configure is not null)
            {
                services.Configure(configure);
            }
        });
        _containers.Add(services);
        return services;
    }

    /// <summary>The fingerprint kept for <paramref name="commandId"/>, read by a claim of the id (which finds it kept, so stores nothing).</summary>
    private static async Task<string> KeptFingerprintAsync(ServiceProvider services, Guid commandId)
    {
        await using var claim = await services.GetRequiredService<IIdempotencyStore>().ClaimAsync(new IdempotencyRecord(commandId, "probe", "probe", null, DateTimeOffset.UtcNow), Ct);
        Assert.NotNull(claim.Kept);
        return claim.Kept.Fingerprint;
    }
}
