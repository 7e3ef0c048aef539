using System.Security.Cryptography;
using System.Text;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using EventSourcing.Diagnostics;
using EventSourcing.Privacy;
using Mediator;

namespace EventSourcing.Commands;

/// <summary>
/// The step of the command pipeline after validation, for messages implementing <see cref="IIdempotentCommand"/>: the command id
/// is claimed in the <see cref="IIdempotencyStore"/> before the command runs, in every process at once. The same id with
/// the same payload returns the first result and runs nothing (a concurrent duplicate waits for the first); with another
/// payload it throws <see cref="IdempotencyKeyReusedException"/>. A command that fails leaves its payload bound to the id:
/// the same payload may be sent again (it runs again), another one is refused.
/// <para>
/// The payload's fingerprint is a hash of its JSON in which every <see cref="PersonalDataAttribute"/> value is a keyed
/// hash under its subject's data key: when the subject is forgotten the key is gone, so a replay is answered the same
/// whatever personal values it carries (<see cref="SubjectForgottenException"/>), and a kept fingerprint lets nobody test a guess.
/// </para>
/// </summary>
internal sealed class IdempotencyBehavior<TMessage, TResponse> : IPipelineBehavior<TMessage, TResponse>
    where TMessage : IMessage
{
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<EventSourcingJson, JsonSerializerOptions> FingerprintOptions = [];
    private const string ClaimSpanName = "idempotency claim";
    private readonly EventSourcingJson _json;
    private readonly JsonSerializerOptions _fingerprintOptions;
    private readonly IIdempotencyStore _store;
    private readonly PersonalDataProtector _protector;
    private readonly TimeProvider _timeProvider;

    /// <summary>Creates the behaviour.</summary>
    public IdempotencyBehavior(IIdempotencyStore store, PersonalDataProtector protector, TimeProvider timeProvider, EventSourcingJson json)
    {
        _json = json ?? throw new ArgumentNullException(nameof(json));
        _fingerprintOptions = FingerprintOptions.GetValue(json, static json => WithoutIgnored(json.FingerprintOptions));
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _protector = protector ?? throw new ArgumentNullException(nameof(protector));
        _timeProvider = timeProvider ?? throw new ArgumentNullException(nameof(timeProvider));
    }

    /// <inheritdoc />
    public async ValueTask<TResponse> Handle(TMessage message, MessageHandlerDelegate<TMessage, TResponse> next, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(next);
        if (message is not IIdempotentCommand { CommandId: var commandId } || commandId == Guid.Empty)
        {
            return await next(message, cancellationToken).ConfigureAwait(false);
        }

        var commandName = typeof(TMessage).Name;
        var fingerprint = await FingerprintAsync(message, cancellationToken).ConfigureAwait(false);
        IdempotencyClaim claim;
        using (var claiming = Telemetry.Start(ClaimSpanName))
        {
            claim = await _store.ClaimAsync(new IdempotencyRecord(commandId, commandName, fingerprint, null, _timeProvider.GetUtcNow()), cancellationToken).ConfigureAwait(false);
            claiming?.SetTag(Telemetry.Replayed, claim.Kept?.Response is not null);
        }

        await using (claim.ConfigureAwait(false))
        {
            if (claim.Kept is { } kept)
            {
                if (kept.Fingerprint != fingerprint)
                {
                    throw new IdempotencyKeyReusedException(commandId, kept.CommandType);
                }

                if (kept.Response is { } response)
                {
                    CommandOutcome.MarkReplayed();
                    return JsonSerializer.Deserialize<TResponse>(response, _json.Options)!;
                }

                // Kept without a result: an earlier execution failed or died; the command is idempotent by its id, so run it again.
            }

            var result = await next(message, cancellationToken).ConfigureAwait(false);
            await claim.CompleteAsync(JsonSerializer.Serialize(result, _json.Options), cancellationToken).ConfigureAwait(false);
            return result;
        }
    }

    private async Task<string> FingerprintAsync(TMessage message, CancellationToken cancellationToken)
    {
        // Keys of the subjects the payload names, loaded (or created) ahead: the fingerprint's serialization finds them cached.
        await _protector.PrepareWriteAsync(PersonalDataJson.SubjectsOf(message), cancellationToken).ConfigureAwait(false);
        var payload = JsonSerializer.SerializeToUtf8Bytes(message, _fingerprintOptions);
        var name = Encoding.UTF8.GetBytes(typeof(TMessage).FullName ?? typeof(TMessage).Name);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(name);
        hash.AppendData(payload);
        return Convert.ToHexString(hash.GetHashAndReset());
    }

    /// <summary><paramref name="options"/> without the properties marked <see cref="IdempotencyIgnoreAttribute"/>.</summary>
    private static JsonSerializerOptions WithoutIgnored(JsonSerializerOptions options)
    {
        var copy = new JsonSerializerOptions(options)
        {
            TypeInfoResolver = options.TypeInfoResolver!.WithAddedModifier(static typeInfo =>
            {
                if (typeInfo.Kind != JsonTypeInfoKind.Object)
                {
                    return;
                }

                var parameters = typeInfo.Type.GetConstructors().SelectMany(c => c.GetParameters())
                    .Where(p => p.IsDefined(typeof(IdempotencyIgnoreAttribute)))
                    .Select(p => p.Name)
                    .ToHashSet(StringComparer.OrdinalIgnoreCase);
                for (var i = typeInfo.Properties.Count - 1; i >= 0; i--)
                {
                    if (typeInfo.Properties[i].AttributeProvider is PropertyInfo property
                        && (property.IsDefined(typeof(IdempotencyIgnoreAttribute)) || parameters.Contains(property.Name)))
                    {
                        typeInfo.Properties.RemoveAt(i);
                    }
                }
            }),
        };
        copy.MakeReadOnly(populateMissingResolver: true);
        return copy;
    }
}
