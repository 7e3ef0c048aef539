using System.Threading.Channels;

namespace EventSourcing.Marten.Storage;

/// <summary>
/// Hands a caller's cancellation on to database work from a thread of its own. Npgsql cancels a command by asking the
/// server, synchronously, in the thread that cancels the token: against a server that does not answer, that thread
/// waits for the connect timeout. The caller (a request's deadline, its abort) must not wait: the store stops waiting for
/// the work at once (<see cref="MartenErrors.GuardAsync{T}(Func{CancellationToken, Task{T}}, CancellationToken, string)"/>),
/// and the work is cancelled here, one after another, however long each takes. (Npgsql's session reset on a pooled
/// connection used to delay that request until its reply was read, so cancellations of a command right after a checkout
/// never blocked; without the reset they did, and an outage under load starved the thread pool.)
/// </summary>
internal static class CancellationRelay
{
    private static readonly Channel<CancellationTokenSource> Pending = Channel.CreateUnbounded<CancellationTokenSource>(new UnboundedChannelOptions { SingleReader = true });

    static CancellationRelay()
    {
        var thread = new Thread(Run) { IsBackground = true, Name = "EventSourcing cancellation relay" };
        thread.Start();
    }

    /// <summary>A token cancelled from the relay's thread once <paramref name="cancellationToken"/> is cancelled; dispose it when the work has ended.</summary>
    public static Relayed Relay(CancellationToken cancellationToken)
    {
        if (!cancellationToken.CanBeCanceled)
        {
            return new Relayed(null, default);
        }

        var source = new CancellationTokenSource();
        var registration = cancellationToken.UnsafeRegister(static state => Pending.Writer.TryWrite((CancellationTokenSource)state!), source);
        return new Relayed(source, registration);
    }

    private static void Run()
    {
        var reader = Pending.Reader;
        while (true)
        {
#pragma warning disable VSTHRD002 // a thread of its own, which waits for nothing else
            if (!reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
#pragma warning restore VSTHRD002
            {
                return;
            }

            while (reader.TryRead(out var source))
            {
                try
                {
                    source.Cancel();
                }
                catch (ObjectDisposedException)
                {
                    // the work ended meanwhile
                }
                catch (AggregateException)
                {
                    // a callback failed: the work is abandoned anyway
                }
            }
        }
    }

    /// <summary>The relayed token; disposing it stops relaying (once the work has ended).</summary>
    internal readonly struct Relayed(CancellationTokenSource? source, CancellationTokenRegistration registration) : IDisposable
    {
        public CancellationToken Token => source?.Token ?? CancellationToken.None;

        public void Dispose()
        {
            registration.Dispose();
            source?.Dispose();
        }
    }
}
