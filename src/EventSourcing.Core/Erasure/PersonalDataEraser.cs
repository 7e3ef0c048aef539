using EventSourcing.Diagnostics;
using EventSourcing.Events;
using EventSourcing.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

using EventSourcing.Privacy;

namespace EventSourcing.Erasure;

/// <summary>
/// Forgets a data subject: deletes their key (so every value encrypted under it, in events, views, snapshots and
/// backups taken from then on, becomes unreadable) and records that they were forgotten, so no key can be created for
/// them again (unless <see cref="PersonalDataOptions.AllowNewKeyAfterForget"/>); drops it from this process's cache, and
/// records the erasure as an audit event that holds no personal data. With a key store several processes share, it
/// returns only once every process has stopped using the key (<see cref="IForgetNotifications.PropagationBound"/>).
/// </summary>
public sealed partial class PersonalDataEraser(IKeyStore keys, PersonalDataProtector protector, IEventWriter events, TimeProvider timeProvider, ILogger<PersonalDataEraser>? logger = null)
{
    private readonly ILogger _logger = (ILogger?)logger ?? NullLogger.Instance;

    /// <summary>The stream the audit event of a subject's erasure goes to.</summary>
    public static string AuditStream(string subjectId) => $"personal-data-{subjectId}";

    /// <summary>
    /// Forgets <paramref name="subjectId"/>; returns the audit event's append result. Forgetting twice is harmless. Once it
    /// returns, no read in any process sharing the key store yields the subject's personal data, and no key can be
    /// created for them. Cancelled after the key is deleted, the subject stays forgotten; calling it again completes it.
    /// </summary>
    public async Task<AppendResult> ForgetAsync(string subjectId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(subjectId);
        using var activity = Telemetry.Start("forget"); // the subject's id stays out of it
        var deleted = await keys.DeleteAsync(subjectId, cancellationToken).ConfigureAwait(false);
        Telemetry.Forgets.Add(1);
        var committed = timeProvider.GetTimestamp();
        protector.Evict(subjectId);
        var result = await events.AppendAsync(
            AuditStream(subjectId),
            ExpectedVersion.Any,
            [new PersonalDataForgotten(subjectId, timeProvider.GetUtcNow(), deleted)],
            EventMetadata.Empty,
            cancellationToken).ConfigureAwait(false);
        if (keys is IForgetNotifications shared)
        {
            // Every process has dropped the key once the bound has passed. Timers may fire a little early: measure.
            while (shared.PropagationBound - timeProvider.GetElapsedTime(committed) is { Ticks: > 0 } remaining)
            {
                await Task.Delay(remaining, timeProvider, cancellationToken).ConfigureAwait(false);
            }
        }

        LogForgotten(_logger, subjectId, deleted);
        return result;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Forgot data subject {SubjectId} (key deleted: {Deleted})")]
    private static partial void LogForgotten(ILogger logger, string subjectId, bool deleted);
}

/// <summary>The audit record of an erasure: who was forgotten and when; nothing personal.</summary>
/// <param name="SubjectId">The forgotten subject's id.</param>
/// <param name="ForgottenAt">When.</param>
/// <param name="KeyDeleted">Whether a key existed and was deleted.</param>
public sealed record PersonalDataForgotten(string SubjectId, DateTimeOffset ForgottenAt, bool KeyDeleted);
