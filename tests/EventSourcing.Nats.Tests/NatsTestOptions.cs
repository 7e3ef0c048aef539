namespace EventSourcing.Nats.Tests;

internal static class NatsTestOptions
{
    /// <summary>Options with a stream and subject prefix no other test uses.</summary>
    public static NatsTransportOptions Fresh(string url, int maxInFlight = 256)
    {
        var id = Guid.NewGuid().ToString("N")[..12];
        return new NatsTransportOptions
        {
            Url = url,
            StreamName = $"TEST_{id}",
            SubjectPrefix = $"test-{id}",
            MaxInFlight = maxInFlight,
        };
    }
}
