using System.Net;
using System.Net.Sockets;

namespace EventSourcing.Testing.Processes;

/// <summary>Ports on 127.0.0.1 for servers the tests start.</summary>
internal static class LoopbackPort
{
    /// <summary>
    /// A port free at the time of asking (the system picks it); another process may take it before the server binds it,
    /// so a start that fails on it tries a fresh one.
    /// </summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
