using System.Text;
using EventSourcing.Nats;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Reservations.Notifier;

/// <summary>Where the reservation API forwards its log: <c>Nats:Url</c>, <c>Nats:StreamName</c>, <c>Nats:SubjectPrefix</c>.</summary>
public sealed record NatsLocation(string Url, string StreamName, string SubjectPrefix);

/// <summary>
/// Finds a reservation's placement in JetStream: the first message on its stream's subject. A confirmation carries no
/// guest; the placement does, so the notifier reads it from the broker rather than keeping a copy of its own.
/// </summary>
public sealed class PlacementLookup(NatsLocation location) : IAsyncDisposable
{
    private readonly NatsConnection _connection = new(new NatsOpts { Url = location.Url, Name = "reservations-notifier", HeaderEncoding = Encoding.UTF8 });

    /// <summary>The body of the first event of <paramref name="streamId"/> (its placement), or null when JetStream holds none.</summary>
    public async Task<ReadOnlyMemory<byte>?> FirstEventAsync(string streamId, CancellationToken cancellationToken)
    {
        var jetStream = new NatsJSContext(_connection);
        var stream = await jetStream.GetStreamAsync(location.StreamName, cancellationToken: cancellationToken);
        try
        {
            var found = await stream.GetAsync(new StreamMsgGetRequest { NextBySubj = NatsSubjects.For(location.SubjectPrefix, streamId), Seq = 1 }, cancellationToken);
            return found.Message.Data; // JSON carries it in base64; the client decodes it
        }
        catch (NatsJSApiException exception) when (exception.Error.Code == 404)
        {
            return null;
        }
    }

    public ValueTask DisposeAsync() => _connection.DisposeAsync();
}
