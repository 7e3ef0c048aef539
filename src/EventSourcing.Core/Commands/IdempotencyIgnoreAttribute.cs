namespace EventSourcing.Commands;

/// <summary>
/// A property of an <see cref="IIdempotentCommand"/> that the idempotency check leaves out: a value the server fills in
/// (the time the command was received), which differs between a request and its retry. The same id with payloads that
/// differ only here is a repeat: it returns the first result.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class IdempotencyIgnoreAttribute : Attribute;
