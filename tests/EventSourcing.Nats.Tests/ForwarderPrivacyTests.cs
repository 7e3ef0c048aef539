using System.Diagnostics;
using System.Text;
using EventSourcing.Deciders;
using EventSourcing.Erasure;
using EventSourcing.Events;
using EventSourcing.Hosting;
using EventSourcing.Reactors;
using EventSourcing.Testing.Contracts.Privacy;
using EventSourcing.Testing.Contracts.Projections;
using EventSourcing.Testing.Nats;
using EventSourcing.Tests.Shared.Nats;
using Microsoft.Extensions.DependencyInjection;

namespace EventSourcing.Nats.Tests;

/// <summary>Personal data forwarded to JetStream: ciphertext in the broker's own files, shredded by a forget.</summary>
public sealed class ForwarderPrivacyTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task No_personal_value_is_readable_in_the_broker_s_storage_and_after_a_forget_none_can_be_read_at_all()
    {
        await using var server = await NatsServer.StartAsync(new NatsServerOptions { Restartable = true }, Ct);
        var options = NatsTestOptions.Fresh(server.Url);
        await using var host = await ProjectionHost.StartAsync(
            es =>
            {
                GuestDecider.Register(es.Events);
                es.AddDecider(GuestDecider.Decider);
                es.AddForwarder();
            },
            configureServices: services => services.AddNatsTransport(o => (o.Url, o.StreamName, o.SubjectPrefix) = (options.Url, options.StreamName, options.SubjectPrefix)));
        var guest = Guid.NewGuid();
        var marker = Guid.NewGuid().ToString("N");
        var handler = host.Services.GetRequiredService<DeciderHandler<GuestCommand, GuestEvent, GuestState?>>();
        var registered = await handler.HandleAsync(GuestDecider.StreamOf(guest), new RegisterGuest(guest, $"Ada {marker}", $"ada.{marker}@example.com", [$"+44 {marker}"]), Ct);
        Assert.True(await host.Services.GetRequiredService<ReactorStatusReader>().WaitForAsync("forwarder", registered.Position, Patience, Ct));

        var stored = Assert.Single(await JetStreamReader.ReadAllAsync(server.Url, options.StreamName, Ct), e => e.StreamId == GuestDecider.StreamOf(guest));
        var serializer = host.Services.GetRequiredService<IEventSerializer>();
        var read = (GuestRegistered)serializer.Deserialize(stored.EventType, stored.Data.Span).Data;
        await server.StopAsync(NatsStopMode.Graceful, Ct); // its files written out
        var files = Directory.EnumerateFiles(server.StoreDirectory!, "*", SearchOption.AllDirectories).ToList();
        var markerBytes = Encoding.UTF8.GetBytes(marker);

        Assert.NotEmpty(files);
        Assert.Contains(files, file => File.ReadAllBytes(file).AsSpan().IndexOf("es-pd:v2:"u8) >= 0); // the message is in them, sealed
        Assert.DoesNotContain(files, file => File.ReadAllBytes(file).AsSpan().IndexOf(markerBytes) >= 0);
        Assert.Equal($"Ada {marker}", read.Name); // a trusted consumer, with the key store, reads it

        await host.Services.GetRequiredService<PersonalDataEraser>().ForgetAsync(guest.ToString(), Ct);
        var forgotten = (GuestRegistered)serializer.Deserialize(stored.EventType, stored.Data.Span).Data;

        Assert.Equal(("[erased]", guest), (forgotten.Name, forgotten.GuestId));
    }
}
