using System.Diagnostics;
using System.Security.Cryptography;
using EventSourcing.Testing.Nats;
using EventSourcing.Tests.Shared.Postgres;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Reservations.Notifier;
using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.Forwarding;

/// <summary>
/// The sample forwarding its log to a throwaway <c>nats-server</c>, and the notifier (hosted in the test process with the
/// settings its process would have) writing one e-mail per confirmed reservation: with the guest's name and address
/// when it shares the API's key store, sealed when it does not, and with placeholders once the guest is forgotten.
/// </summary>
public sealed class NotifierTests(PostgresFixture postgres)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task On_PostgreSQL_the_notifier_writes_one_e_mail_per_confirmation_with_the_guest_and_placeholders_after_a_forget()
    {
        await using var nats = await NatsServer.StartAsync(cancellationToken: Ct);
        var settings = Settings(nats.Url);
        settings["EventSourcing:PersonalData:MasterKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        settings["Admin:ApiKey"] = ReservationsApp.AdminKey;
        await using var app = await new PostgresStore(postgres).StartAsync(settings);
        settings["ConnectionStrings:Postgres"] = app.Services.GetRequiredService<IConfiguration>().GetConnectionString("Postgres");
        using var client = app.CreateClient();
        var guest = Guid.NewGuid();
        var placed = await client.PlaceAcceptedAsync(Bodies.Valid(Bodies.UniqueDay(), partySize: 3, guestId: guest, guestName: "Ada Lovelace", guestEmail: "ada@example.com"));
        Assert.Equal("confirmed", (await client.WaitForOutcomeAsync(placed)).Status);
        using var outbox = new TempFolder();

        var mail = await RunNotifierUntilAsync(settings, outbox.Path, "first", placed.Id);
        Assert.Contains("To: Ada Lovelace <ada@example.com>", mail, StringComparison.Ordinal);
        Assert.Contains("Dear Ada Lovelace,", mail, StringComparison.Ordinal);
        Assert.Contains("X-Personal-Data: read", mail, StringComparison.Ordinal);

        // A new durable reads the confirmation again: the e-mail written before stands, and no other is written.
        await RunNotifierUntilAsync(settings, outbox.Path, "again", placed.Id, untilLogged: true);
        Assert.Equal([$"{placed.Id}.eml"], Directory.GetFiles(outbox.Path).Select(Path.GetFileName));
        Assert.Equal(mail, await File.ReadAllTextAsync(Path.Combine(outbox.Path, $"{placed.Id}.eml"), Ct));

        // After a forget, a replay of the confirmation reads placeholders: no personal value leaves.
        using (var forget = await client.ForgetGuestAsync(guest))
        {
            Assert.True(forget.IsSuccessStatusCode, $"forget answered {forget.StatusCode}");
        }

        using var afterForget = new TempFolder();
        var erased = await RunNotifierUntilAsync(settings, afterForget.Path, "after-forget", placed.Id);
        Assert.DoesNotContain("Ada", erased, StringComparison.Ordinal);
        Assert.DoesNotContain("ada@example.com", erased, StringComparison.Ordinal);
        Assert.Contains("To: [erased] <[erased]>", erased, StringComparison.Ordinal);
        Assert.Contains("X-Personal-Data: erased", erased, StringComparison.Ordinal);
    }

    [Fact]
    public async Task In_memory_the_notifier_writes_the_e_mail_with_the_guest_id_and_the_name_and_address_sealed()
    {
        await using var nats = await NatsServer.StartAsync(cancellationToken: Ct);
        var settings = Settings(nats.Url);
        await using var app = await new InMemoryStore().StartAsync(settings);
        using var client = app.CreateClient();
        var guest = Guid.NewGuid();
        var placed = await client.PlaceAcceptedAsync(Bodies.Valid(Bodies.UniqueDay(), guestId: guest, guestName: "Grace Hopper", guestEmail: "grace@example.com"));
        Assert.Equal("confirmed", (await client.WaitForOutcomeAsync(placed)).Status);
        using var outbox = new TempFolder();

        var mail = await RunNotifierUntilAsync(settings, outbox.Path, "sealed", placed.Id);

        Assert.Contains($"To: guest {guest} (name and address sealed", mail, StringComparison.Ordinal);
        Assert.DoesNotContain("Grace", mail, StringComparison.Ordinal);
        Assert.DoesNotContain("grace@example.com", mail, StringComparison.Ordinal);
        Assert.Equal([$"{placed.Id}.eml"], Directory.GetFiles(outbox.Path).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Forwarding_redacted_the_trusted_notifier_reads_placeholders_before_any_forget()
    {
        await using var nats = await NatsServer.StartAsync(cancellationToken: Ct);
        var settings = Settings(nats.Url);
        settings["Nats:PersonalData"] = "redacted";
        settings["EventSourcing:PersonalData:MasterKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        await using var app = await new PostgresStore(postgres).StartAsync(settings);
        settings["ConnectionStrings:Postgres"] = app.Services.GetRequiredService<IConfiguration>().GetConnectionString("Postgres");
        using var client = app.CreateClient();
        var placed = await client.PlaceAcceptedAsync(Bodies.Valid(Bodies.UniqueDay(), guestName: "Ada Lovelace", guestEmail: "ada@example.com"));
        Assert.Equal("confirmed", (await client.WaitForOutcomeAsync(placed)).Status);
        using var outbox = new TempFolder();

        // The notifier shares the key store, and the guest is not forgotten: the values are simply not in the broker.
        var mail = await RunNotifierUntilAsync(settings, outbox.Path, "redacted", placed.Id);

        Assert.DoesNotContain("Ada", mail, StringComparison.Ordinal);
        Assert.DoesNotContain("ada@example.com", mail, StringComparison.Ordinal);
        Assert.Contains("To: [erased] <[erased]>", mail, StringComparison.Ordinal);
        Assert.Contains("X-Personal-Data: erased", mail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_personal_data_setting_fails_the_start_naming_the_setting_and_its_values()
    {
        var settings = Settings("nats://127.0.0.1:1");
        settings["Nats:PersonalData"] = "plain";

        var failure = await Assert.ThrowsAnyAsync<Exception>(async () => await (await new InMemoryStore().StartAsync(settings)).DisposeAsync());

        Assert.Contains("Nats:PersonalData is 'plain': it is Sealed (the default) or Redacted.", failure.ToString(), StringComparison.Ordinal);
    }

    private static Dictionary<string, string?> Settings(string natsUrl)
    {
        var id = Guid.NewGuid().ToString("N")[..12];
        return new Dictionary<string, string?>
        {
            ["Nats:Url"] = natsUrl,
            ["Nats:StreamName"] = $"RESERVATIONS_{id}",
            ["Nats:SubjectPrefix"] = $"reservations-{id}",
        };
    }

    /// <summary>
    /// Runs the notifier with the API's settings, a durable of its own and <paramref name="outbox"/>, until the
    /// reservation's e-mail is there (or, with <paramref name="untilLogged"/>, until it has found it written before), and
    /// returns the e-mail.
    /// </summary>
    private static async Task<string> RunNotifierUntilAsync(Dictionary<string, string?> settings, string outbox, string durable, Guid reservation, bool untilLogged = false)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], EnvironmentName = "Development" });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Notifier:Outbox"] = outbox,
            ["Notifier:DurableName"] = $"notifier-{durable}",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Reservations.Notifier"] = "Information",
        });
        var log = new SeenLines();
        builder.Logging.AddProvider(log);
        builder.Services.AddNotifier(builder.Configuration);
        using var host = builder.Build();
        await host.StartAsync(Ct);
        try
        {
            var path = Path.Combine(outbox, $"{reservation}.eml");
            await UntilAsync(() => untilLogged ? log.Contains($"reservation {reservation} was written before") : File.Exists(path), "the notifier to handle the confirmation");
            return await File.ReadAllTextAsync(path, Ct);
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
    }

    private static Task UntilAsync(Func<bool> condition, string what) => Eventually.UntilAsync(condition, what, Patience, TimeSpan.FromMilliseconds(50));

    private sealed class TempFolder : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("notifier-outbox-").FullName;

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }

    /// <summary>The notifier's information lines, to see that it found an e-mail written before.</summary>
    private sealed class SeenLines : ILoggerProvider
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _lines = new();

        public bool Contains(string text) => _lines.Any(line => line.Contains(text, StringComparison.Ordinal));

        public ILogger CreateLogger(string categoryName) => new Logger(categoryName == typeof(ConfirmationMailer).FullName ? _lines : null);

        public void Dispose()
        {
        }

        private sealed class Logger(System.Collections.Concurrent.ConcurrentQueue<string>? lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => lines is not null;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                lines?.Enqueue(formatter(state, exception));
        }
    }
}
