using System.Globalization;

namespace EventSourcing.Testing.Processes;

/// <summary>Waits until a server answers, trying again at an interval until a deadline.</summary>
internal static class ServerReadiness
{
    /// <summary>
    /// Calls <paramref name="answersAsync"/> until it returns true, pausing <paramref name="retryInterval"/> between tries,
    /// for at most <paramref name="timeout"/>. A failure that <paramref name="isTransient"/> accepts is tried again (the last
    /// one is named if time runs out); any other is thrown as it is.
    /// </summary>
    /// <param name="server">The server as messages name it, for example <c>NATS at 127.0.0.1:4222</c>.</param>
    /// <param name="timeout">How long to wait in all.</param>
    /// <param name="retryInterval">The pause between tries.</param>
    /// <param name="answersAsync">One try, cancelled at the deadline: true once the server answers.</param>
    /// <param name="isTransient">Whether a failed try is worth another.</param>
    /// <param name="diagnostics">What to add to an error message, such as the end of the server log.</param>
    /// <param name="ended">
    /// Why waiting longer is pointless (the server's process ended), or <see langword="null"/> to go on; asked after each
    /// failed try. <see langword="null"/> when there is no process to watch.
    /// </param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <exception cref="InvalidOperationException"><paramref name="ended"/> gave a reason.</exception>
    /// <exception cref="TimeoutException">The server did not answer within <paramref name="timeout"/>.</exception>
    public static async Task WaitAsync(
        string server,
        TimeSpan timeout,
        TimeSpan retryInterval,
        Func<CancellationToken, Task<bool>> answersAsync,
        Func<Exception, bool> isTransient,
        Func<string> diagnostics,
        Func<string?>? ended,
        CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        Exception? lastError = null;
        while (true)
        {
            try
            {
                if (await answersAsync(deadline.Token).ConfigureAwait(false))
                {
                    return;
                }
            }
            catch (Exception exception) when ((exception is OperationCanceledException || isTransient(exception)) && !cancellationToken.IsCancellationRequested)
            {
                lastError = exception is OperationCanceledException ? lastError : exception;
            }

            if (ended?.Invoke() is { } reason)
            {
                throw new InvalidOperationException($"{reason}{Environment.NewLine}{diagnostics()}");
            }

            try
            {
                await Task.Delay(retryInterval, deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException(
                    $"{server} did not accept connections within {timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s " +
                    $"(last error: {lastError?.Message}).{Environment.NewLine}{diagnostics()}",
                    lastError);
            }
        }
    }
}
