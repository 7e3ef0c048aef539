using System.Net;
using System.Net.Sockets;

namespace Reservations.Tests.Forwarding;

/// <summary>
/// A TCP relay on the loopback between the sample and the NATS server, which can hold one connection: armed by
/// <see cref="HoldNextAfter"/>, the next connection made through it gets a number of bytes through to the server, then
/// nothing more until <see cref="Release"/> (the server's answers still reach it). A forwarder publishing through a held
/// connection is left in the middle of its page for as long as its acknowledgements may take (the transport's ack
/// timeout, 5 s): what went through is stored and acknowledged, the rest is sent and waits, as if the broker had stopped
/// reading. Released, what the connection sent meanwhile goes on to the server, even after its process is gone.
/// </summary>
public sealed class NatsRelay : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Uri _server;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _relays = [];
    private readonly Lock _gate = new();
    private readonly Task _accepting;
    private long? _armed;
    private TaskCompletionSource _held = Signal();
    private TaskCompletionSource _released = Signal();

    private NatsRelay(string serverUrl)
    {
        _server = new Uri(serverUrl);
        _listener.Start();
        _accepting = Task.Run(AcceptAsync, CancellationToken.None);
    }

    /// <summary>The URL to give the sample instead of the server's.</summary>
    public string Url => $"nats://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>Relays connections to the NATS server at <paramref name="serverUrl"/> (a loopback one).</summary>
    public static NatsRelay Start(string serverUrl) => new(serverUrl);

    /// <summary>
    /// Holds the next connection made through the relay once it has sent <paramref name="bytes"/> bytes to the server;
    /// returns a task that completes when it is held.
    /// </summary>
    public Task HoldNextAfter(long bytes)
    {
        lock (_gate)
        {
            (_armed, _held, _released) = (bytes, Signal(), Signal());
            return _held.Task;
        }
    }

    /// <summary>Lets the held connection's bytes go on to the server.</summary>
    public void Release()
    {
        lock (_gate)
        {
            _armed = null;
            _released.TrySetResult();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        Task[] relays;
        lock (_gate)
        {
            relays = [.. _relays];
        }

        await Task.WhenAll(relays).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }

    private static TaskCompletionSource Signal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            lock (_gate)
            {
                var (holdAfter, held, released) = (_armed, _held, _released.Task);
                _armed = null; // one connection only
                _relays.Add(RelayAsync(client, holdAfter, held, released));
            }
        }
    }

    /// <summary>Relays one connection both ways until either side closes it; the client's bytes held past <paramref name="holdAfter"/> until released.</summary>
    private async Task RelayAsync(TcpClient client, long? holdAfter, TaskCompletionSource held, Task released)
    {
        using var closing = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        using var server = new TcpClient();
        using var disposeClient = client;
        var answers = Task.CompletedTask;
        try
        {
            await server.ConnectAsync(_server.Host, _server.Port, closing.Token);
            var fromClient = client.GetStream();
            var toServer = server.GetStream();
            answers = AnswerAsync(toServer, fromClient, closing);
            var buffer = new byte[16 * 1024];
            var sent = 0L;
            int read;
            while ((read = await fromClient.ReadAsync(buffer, closing.Token)) > 0)
            {
                var through = holdAfter is { } limit && sent + read > limit ? (int)Math.Max(0, limit - sent) : read;
                await toServer.WriteAsync(buffer.AsMemory(0, through), closing.Token);
                if (through < read)
                {
                    held.TrySetResult();
                    await released.WaitAsync(closing.Token);
                    holdAfter = null;
                    await toServer.WriteAsync(buffer.AsMemory(through, read - through), closing.Token);
                }

                sent += read;
            }

            server.Client.Shutdown(SocketShutdown.Send); // the client is gone: the server reads what it sent, then the end
            await answers;
        }
        catch (Exception exception) when (IsClosed(exception))
        {
            // a side closed or reset the connection, or the relay stops
        }
        finally
        {
            await closing.CancelAsync();
            await answers.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>Copies the server's answers to the client; once the server closes, the whole connection closes.</summary>
    private static async Task AnswerAsync(NetworkStream fromServer, NetworkStream toClient, CancellationTokenSource closing)
    {
        try
        {
            await fromServer.CopyToAsync(toClient, closing.Token);
        }
        catch (Exception exception) when (IsClosed(exception))
        {
            // as below
        }
        finally
        {
            await closing.CancelAsync();
        }
    }

    private static bool IsClosed(Exception exception) => exception is IOException or SocketException or OperationCanceledException or ObjectDisposedException;
}
