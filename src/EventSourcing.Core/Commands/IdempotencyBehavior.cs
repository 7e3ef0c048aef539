using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Mediator;

namespace EventSourcing.Commands;

/// <summary>
/// The second step of the command pipeline, for messages implementing <see cref="IIdempotentCommand"/>: the same
/// command id with the same payload returns the first result and executes nothing; with another payload it throws
/// <see cref="IdempotencyKeyReusedException"/>; concurrent duplicates wait for the one that executes. A command that
/// fails keeps no record, so it can be sent again with the same id.
/// </summary>
public sealed class IdempotencyBehavior<TMessage, TResponse> : IPipelineBehavior<TMessage, TResponse>
    where TMessage : IMessage
{
    private readonly JsonSerializerOptions _json;
    private readonly IIdempotencyStore _store;
    private readonly IdempotencyGate _gate;
    private readonly TimeProvider _timeProvider;

    /// <summary>Creates the behaviour.</summary>
    public IdempotencyBehavior(IIdempotencyStore store, IdempotencyGate gate, TimeProvider timeProvider, Privacy.EventSourcingJson json)
    {
        _json = (json ?? throw new ArgumentNullException(nameof(json))).Options;
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _gate = gate ?? throw new ArgumentNullException(nameof(gate));
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
        var fingerprint = Fingerprint(message);
        var result = await _gate.RunOnceAsync(commandId, commandName, fingerprint, async () =>
        {
            var kept = await _store.FindAsync(commandId, cancellationToken).ConfigureAwait(false);
            if (kept is not null)
            {
                return kept.Fingerprint == fingerprint
                    ? JsonSerializer.Deserialize<TResponse>(kept.Response, _json)
                    : throw new IdempotencyKeyReusedException(commandId, kept.CommandType);
            }

            var response = await next(message, cancellationToken).ConfigureAwait(false);
            var record = new IdempotencyRecord(commandId, commandName, fingerprint, JsonSerializer.Serialize(response, _json), _timeProvider.GetUtcNow());
            await _store.AddAsync(record, cancellationToken).ConfigureAwait(false);
            return response;
        }).ConfigureAwait(false);
        return (TResponse)result!;
    }

    private static readonly JsonSerializerOptions FingerprintOptions = new(JsonSerializerDefaults.Web);

    private static string Fingerprint(TMessage message)
    {
        // The payload's plain JSON, hashed: personal values must hash the same way every time (no nonce), and the hash reveals nothing.
        var payload = JsonSerializer.SerializeToUtf8Bytes(message, FingerprintOptions);
        var name = Encoding.UTF8.GetBytes(typeof(TMessage).FullName ?? typeof(TMessage).Name);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(name);
        hash.AppendData(payload);
        return Convert.ToHexString(hash.GetHashAndReset());
    }
}
