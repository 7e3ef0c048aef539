using FluentValidation;
using FluentValidation.Results;
using Mediator;
using EventSourcing.Diagnostics;

namespace EventSourcing.Commands;

/// <summary>
/// The step of the command pipeline after its span and measurement (<c>CommandTelemetryBehavior</c>): runs every FluentValidation validator registered for the message,
/// synchronously, before anything is loaded. Failures of all validators are collected per property and thrown as one
/// <see cref="CommandValidationException"/>; the handler never runs.
/// </summary>
/// <remarks>
/// Validators run with <c>Validate</c>, not <c>ValidateAsync</c>: a command is checked on its own content, without I/O.
/// Register validators as singletons (<c>AddValidatorsFromAssemblyContaining&lt;T&gt;(ServiceLifetime.Singleton)</c>).
/// </remarks>
internal sealed class ValidationBehavior<TMessage, TResponse> : IPipelineBehavior<TMessage, TResponse>
    where TMessage : IMessage
{
    private static readonly string SpanName = $"validate {typeof(TMessage).Name}";
    private readonly IValidator<TMessage>[] _validators;

    /// <summary>Creates the behaviour over the message's validators.</summary>
    public ValidationBehavior(IEnumerable<IValidator<TMessage>> validators) => _validators = [.. validators];

    /// <inheritdoc />
    public ValueTask<TResponse> Handle(TMessage message, MessageHandlerDelegate<TMessage, TResponse> next, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(next);
        if (_validators.Length > 0)
        {
            using var activity = Telemetry.Start(SpanName);
            var context = new ValidationContext<TMessage>(message);
            List<ValidationFailure>? failures = null;
            foreach (var validator in _validators)
            {
                // Synchronous by design: validation checks the command's own content and does no I/O.
#pragma warning disable VSTHRD103
                var result = validator.Validate(context);
#pragma warning restore VSTHRD103
                if (!result.IsValid)
                {
                    (failures ??= []).AddRange(result.Errors);
                }
            }

            if (failures is not null)
            {
                var errors = failures
                    .GroupBy(failure => failure.PropertyName, StringComparer.Ordinal)
                    .ToDictionary(group => group.Key, group => group.Select(failure => failure.ErrorMessage).Distinct().ToArray(), StringComparer.Ordinal);
                activity?.SetTag(Telemetry.ErrorType, typeof(CommandValidationException).FullName);
                throw new CommandValidationException(typeof(TMessage).Name, errors);
            }
        }

        return next(message, cancellationToken);
    }
}
