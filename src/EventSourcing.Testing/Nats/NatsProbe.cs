using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace EventSourcing.Testing.Nats;

/// <summary>Waits until a NATS server accepts connections: it greets a new one with an <c>INFO</c> line.</summary>
internal static class NatsProbe
{
    private const int DefaultPort = 4222;
    private static readonly TimeSpan RetryInterval = TimeSpan.FromMilliseconds(100);

    public static async Task WaitUntilReadyAsync(string url, TimeSpan timeout, Func<string> diagnostics, Func<bool>? exited, CancellationToken cancellationToken)
    {
        var (host, port) = Endpoint(url);
        var server = $"NATS at {host}:{port.ToString(CultureInfo.InvariantCulture)}";
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        Exception? lastError = null;
        while (true)
        {
            try
            {
                if (await GreetsAsync(host, port, deadline.Token).ConfigureAwait(false))
                {
                    return;
                }
            }
            catch (Exception exception) when (exception is SocketException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                lastError = exception is OperationCanceledException ? lastError : exception;
            }

            if (exited?.Invoke() == true)
            {
                throw new InvalidOperationException($"nats-server exited before it accepted connections.{Environment.NewLine}{diagnostics()}");
            }

            try
            {
                await Task.Delay(RetryInterval, deadline.Token).ConfigureAwait(false);
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

    /// <summary>The first server of a URL list (<c>nats://user:pass@host:port,...</c>), with the default port.</summary>
    public static (string Host, int Port) Endpoint(string url)
    {
        var first = url.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[0];
        var uri = new Uri(first.Contains("://", StringComparison.Ordinal) ? first : "nats://" + first);
        return (uri.Host, uri.Port < 0 ? DefaultPort : uri.Port);
    }

    private static async Task<bool> GreetsAsync(string host, int port, CancellationToken cancellationToken)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(host, port, cancellationToken).ConfigureAwait(false);
        var stream = client.GetStream();
        await using (stream.ConfigureAwait(false))
        {
            var buffer = new byte[5];
            var read = 0;
            while (read < buffer.Length)
            {
                var count = await stream.ReadAsync(buffer.AsMemory(read), cancellationToken).ConfigureAwait(false);
                if (count == 0)
                {
                    return false;
                }

                read += count;
            }

            return Encoding.ASCII.GetString(buffer) == "INFO ";
        }
    }
}
