using EventSourcing.Commands;
using EventSourcing.Privacy;
using EventSourcing.Testing.Contracts.Domain;
using EventSourcing.Tests.Shared.Domain;
using Mediator;

namespace EventSourcing.Core.Tests.Commands;

/// <summary>A command carrying personal data, marked as events mark it: its fingerprint hashes the name under the member's key.</summary>
public sealed record EnrolMember([property: DataSubject] Guid MemberId, [property: PersonalData] string Name, string Plan, Guid CommandId)
    : ICommand<Enrolment>, IIdempotentCommand;

public sealed record Enrolment(Guid MemberId, string Plan, int Execution);

public sealed class EnrolMemberHandler(HandlerCalls calls) : ICommandHandler<EnrolMember, Enrolment>
{
    public ValueTask<Enrolment> Handle(EnrolMember command, CancellationToken cancellationToken)
    {
        calls.Increment();
        return ValueTask.FromResult(new Enrolment(command.MemberId, command.Plan, calls.Count));
    }
}
