using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using EventSourcing.Events;
using EventSourcing.Projections;
using EventSourcing.Storage;
using EventSourcing.Tests.Shared.Postgres;
using EventSourcing.Tests.Shared.Samples;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Reservations;
using Reservations.Domain;
using Reservations.GettingReservation;

namespace EventSourcing.Cli.Tests;

/// <summary>
/// The rebuild verb as an operator runs it: the sample application's own process on PostgreSQL, killed (SIGKILL) half-way
/// through a rebuild of 200,000 events, then run again: it resumes, the views end equal to an uninterrupted rebuild,
/// and the serving views stayed readable throughout.
/// </summary>
public sealed partial class RebuildProcessTests(PostgresFixture postgres)
{
    private const int Events = 200_000;
    private static readonly string MasterKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_rebuild_killed_half_way_resumes_and_ends_equal_to_an_uninterrupted_one_while_views_stay_readable()
    {
        var connectionString = await postgres.CreateDatabaseAsync("cli_rebuild", Ct);
        await using var app = Application(connectionString);
        var store = app.GetRequiredService<IEventStore>();
        var guest = Guid.NewGuid();
        var probe = Guid.Empty;
        for (var batch = 0; batch < Events / 1_000; batch++)
        {
            var placed = Enumerable.Range(0, 1_000).Select(i => (object)new ReservationPlaced(Guid.NewGuid(), guest, "Ada", "ada@example.com", null, new DateOnly(2030, 1, 1).AddDays(i % 90), 2, DateTimeOffset.UnixEpoch)).ToArray();
            probe = probe == Guid.Empty ? ((ReservationPlaced)placed[0]).Id : probe;
            await store.AppendAsync($"seed-{batch}", ExpectedVersion.NoStream, placed, EventMetadata.Empty, Ct);
        }

        await app.GetRequiredService<ProjectionRebuilder>().RebuildAsync("reservation-details", null, Ct);
        var uninterrupted = await app.GetRequiredService<ProjectionVerifier>().HashServingAsync("reservation-details", Ct);
        var views = app.GetRequiredService<IViewReader>();
        var served = await views.FindAsync<ReservationDetails>(probe.ToString(), Ct);

        var killedAt = await RunRebuildAsync(connectionString, killAtPosition: Events / 2);
        var readableWhileInterrupted = await views.FindAsync<ReservationDetails>(probe.ToString(), Ct);
        var state = await app.GetRequiredService<IProjectionStore>().ReadStateAsync("reservation-details", Ct);
        var (exitCode, output) = await RunToEndAsync(connectionString);

        Assert.InRange(killedAt, Events / 2, Events - 1);
        Assert.NotNull(state.BuildingGeneration);
        Assert.InRange(state.BuildingPosition, 1, Events - 1);
        Assert.Equal(served, readableWhileInterrupted);
        Assert.True(exitCode == 0, output);
        Assert.Contains("resumed an interrupted rebuild", output, StringComparison.Ordinal);
        Assert.Equal(uninterrupted, await app.GetRequiredService<ProjectionVerifier>().HashServingAsync("reservation-details", Ct));
        Assert.Equal(served, await views.FindAsync<ReservationDetails>(probe.ToString(), Ct));
    }

    private static ServiceProvider Application(string connectionString)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = connectionString,
            ["EventSourcing:PersonalData:MasterKey"] = MasterKey,
        }).Build();
        var services = new ServiceCollection().AddLogging().AddSingleton<IConfiguration>(configuration);
        services.AddReservations(configuration);
        return services.BuildServiceProvider();
    }

    /// <summary>Runs the rebuild in the sample's process and kills it (SIGKILL) once it reports a position past <paramref name="killAtPosition"/>.</summary>
    private static async Task<long> RunRebuildAsync(string connectionString, long killAtPosition)
    {
        using var process = Start(connectionString);
        var seen = new List<string>();
        while (await process.StandardOutput.ReadLineAsync(Ct) is { } line)
        {
            seen.Add(line);
            if (Progress().Match(line) is { Success: true } match && long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) is var position && position >= killAtPosition)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync(Ct);
                return position;
            }
        }

        await process.WaitForExitAsync(Ct);
        throw new InvalidOperationException($"The rebuild ended (exit code {process.ExitCode}) before reaching position {killAtPosition}: {string.Join('\n', seen)} {await process.StandardError.ReadToEndAsync(Ct)}");
    }

    private static async Task<(int ExitCode, string Output)> RunToEndAsync(string connectionString)
    {
        using var process = Start(connectionString);
        var output = process.StandardOutput.ReadToEndAsync(Ct);
        var errors = process.StandardError.ReadToEndAsync(Ct);
        await process.WaitForExitAsync(Ct);
        return (process.ExitCode, await output + await errors);
    }

    private static Process Start(string connectionString) =>
        SampleProcess.Start(["projections", "rebuild", "reservation-details", "--yes"], new Dictionary<string, string?>
        {
            ["ConnectionStrings__Postgres"] = connectionString,
            ["EventSourcing__PersonalData__MasterKey"] = MasterKey,
        });

    [GeneratedRegex(@"^Rebuilding reservation-details: (\d+) / (\d+) events")]
    private static partial Regex Progress();
}
