using System.Net;
using System.Text;
using System.Text.Json;
using EventSourcing.Tests.Shared.Postgres;
using EventSourcing.Testing.Contracts.Privacy;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.Privacy;

/// <summary>
/// Every log line of a whole flow through the API (every category at Trace: ASP.NET Core, the store, the library, the
/// sample), with its structured values, exceptions and scopes, is free of the guest's name, e-mail and phone.
/// </summary>
public abstract class LogPrivacyTests(StoreUnderTest store)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 120_000)]
    public async Task No_log_line_of_a_whole_flow_through_the_API_holds_the_guest_s_name_e_mail_or_phone()
    {
        var logs = new LogCollector();
        var marker = $"mk{Guid.NewGuid():N}";
        var (name, email, phone) = ($"Ada {marker}", $"{marker}@example.com", $"+99 {Random.Shared.Next(100, 1_000)} {Random.Shared.Next(100_000, 1_000_000)}");
        var settings = new Dictionary<string, string?>
        {
            ["Admin:ApiKey"] = ReservationsApp.AdminKey,
            ["Logging:LogLevel:Default"] = "Trace",
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Trace",
            ["Logging:LogLevel:Reservations"] = "Trace",
        };
        await using (var app = await store.StartAsync(new AppSetup(settings, services => services.AddLogging(logging => logging.ClearProviders().AddProvider(logs).SetMinimumLevel(LogLevel.Trace)))))
        {
            using var client = app.CreateClient();
            var guest = Guid.NewGuid();
            var body = Bodies.Valid(Bodies.UniqueDay(), guestId: guest, guestName: name, guestEmail: email, guestPhone: phone);

            var placed = await client.PlaceAcceptedAsync(body, "log-flow");
            Assert.Equal(placed, await client.PlaceAcceptedAsync(body, "log-flow"));
            await ProblemAsync(client.PlaceAsync(body with { GuestName = $"{name} Byron" }, "log-flow"), HttpStatusCode.UnprocessableEntity);
            await ProblemAsync(client.PlaceAsync(body with { GuestEmail = $"{marker}@@", GuestPhone = $"{phone} ext. {marker}" }), HttpStatusCode.BadRequest);
            var broken = JsonSerializer.Serialize(body, ReservationsApi.Json)[..^1] + $",\"partySize\":\"{name}\"}}";
            await ProblemAsync(client.PostAsync(ReservationsApi.Url("/reservations"), new StringContent(broken, Encoding.UTF8, "application/json"), Ct), HttpStatusCode.BadRequest);

            Assert.Equal("confirmed", (await client.WaitForOutcomeAsync(placed)).Status);
            Assert.Equal(name, (await client.GetHistoryAsync(placed.Id))[0].Data.GetProperty("guestName").GetString());
            Assert.Equal(email, Assert.Single(await client.GetGuestReservationsAsync(guest)).GuestEmail);
            Assert.Contains(await client.GetDayReservationsAsync(body.Day), r => r.GuestPhone == phone);
            using (var cancel = await client.CancelAsync(placed.Id, "\"2\""))
            {
                Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
            }

            using (var forget = new HttpRequestMessage(HttpMethod.Delete, ReservationsApi.Url($"/guests/{guest}/personal-data")).WithApiKey(ReservationsApp.AdminKey))
            using (var forgotten = await client.SendAsync(forget, Ct))
            {
                Assert.Equal(HttpStatusCode.NoContent, forgotten.StatusCode);
            }

            Assert.Equal("[erased]", (await client.GetReservationAsync(placed.Id)).GuestName);
            await ProblemAsync(client.PlaceAsync(body with { Day = body.Day.AddDays(1) }), HttpStatusCode.Conflict); // a forgotten guest's data again
        } // stopped: the reactor, the projections and the store have written all they will

        var lines = logs.Lines.ToList();
        var leaks = lines.Where(line => new[] { marker, name, email, phone }.Any(value => line.Contains(value, StringComparison.Ordinal))).ToList();
        Assert.True(leaks.Count == 0, $"{leaks.Count} of {lines.Count} log lines hold personal data:{Environment.NewLine}{string.Join(Environment.NewLine, leaks.Take(20))}");

        // What was searched is really everything: the framework's lowest levels with their scopes, and the library.
        Assert.Contains(lines, line => line.StartsWith("Trace ", StringComparison.Ordinal));
        Assert.Contains(lines, line => line.Contains("Microsoft.AspNetCore.Hosting.Diagnostics", StringComparison.Ordinal) && line.Contains("Request starting", StringComparison.Ordinal));
        Assert.Contains(lines, line => line.Contains("=> RequestPath:/reservations", StringComparison.Ordinal));
        Assert.Contains(lines, line => line.Contains("Forgot data subject", StringComparison.Ordinal));
        TestContext.Current.TestOutputHelper?.WriteLine($"{store}: {lines.Count} log lines of {lines.Select(l => l.Split(' ', 3)[1].Split('[')[0]).Distinct().Count()} categories searched");
    }

    private static async Task ProblemAsync(Task<HttpResponseMessage> sending, HttpStatusCode expected)
    {
        using var response = await sending;
        await response.ReadProblemAsync(expected);
    }
}

public sealed class InMemoryLogPrivacyTests() : LogPrivacyTests(new InMemoryStore());

public sealed class PostgresLogPrivacyTests(PostgresFixture postgres) : LogPrivacyTests(new PostgresStore(postgres));
