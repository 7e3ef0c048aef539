using System.Globalization;
using System.Net.Sockets;
using System.Text;
using EventSourcing.Testing.Processes;

namespace EventSourcing.Testing.Nats;

/// <summary>Waits until a NATS server accepts connections: it greets a new one with an <c>INFO</c> line.</summary>
internal static class NatsProbe
{
    private const int DefaultPort = 4222;
    private static readonly TimeSpan RetryInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>Waits until the first server of <paramref name="url"/> greets a new connection (see <see cref="ServerReadiness.WaitAsync"/>).</summary>
    public static Task WaitUntilReadyAsync(string url, TimeSpan timeout, Func<string> diagnostics, Func<string?>? ended, CancellationToken cancellationToken)
    {
        var (host, port) = Endpoint(url);
        return ServerReadiness.WaitAsync(
            $"NATS at {host}:{port.ToString(CultureInfo.InvariantCulture)}",
            timeout,
            RetryInterval,
            deadline => GreetsAsync(host, port, deadline),
            static exception => exception is SocketException or IOException,
            diagnostics,
            ended,
            cancellationToken);
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
