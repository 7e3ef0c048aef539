using System.Collections.Concurrent;

namespace EventSourcing.Commands;

/// <summary>
/// The commands being executed right now in this process, by id, so that concurrent duplicates wait for the
/// first one instead of executing again. One per container (a singleton); used by <see cref="IdempotencyBehavior{TMessage, TResponse}"/>.
/// </summary>
public sealed class IdempotencyGate
{
    private readonly ConcurrentDictionary<Guid, Execution> _running = new();

    /// <summary>
    /// Runs <paramref name="execute"/> unless a command with the same id is running; then waits for that one's
    /// outcome instead (or fails at once if its payload differs).
    /// </summary>
    internal async Task<object?> RunOnceAsync(Guid commandId, string commandName, string fingerprint, Func<Task<object?>> execute)
    {
        var completion = new TaskCompletionSource<object?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var mine = new Execution(fingerprint, completion.Task);
        var current = _running.GetOrAdd(commandId, mine);
        if (!ReferenceEquals(current, mine))
        {
            return current.Fingerprint == fingerprint
                ? await current.Outcome.ConfigureAwait(false)
                : throw new IdempotencyKeyReusedException(commandId, commandName);
        }

        try
        {
            var result = await execute().ConfigureAwait(false);
            completion.SetResult(result);
            return result;
        }
        catch (Exception exception)
        {
            completion.SetException(exception);
            _ = completion.Task.Exception; // observed here; waiters rethrow it themselves
            throw;
        }
        finally
        {
            _running.TryRemove(new KeyValuePair<Guid, Execution>(commandId, mine));
        }
    }

    private sealed record Execution(string Fingerprint, Task<object?> Outcome);
}
