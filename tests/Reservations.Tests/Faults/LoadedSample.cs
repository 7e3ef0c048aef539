using System.Diagnostics;
using System.Net;
using EventSourcing.Tests.Shared.Samples;
using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.Faults;

/// <summary>
/// The sample API as a process on a PostgreSQL database, on a loopback port it keeps across restarts, under the fault
/// tests' bounded load: <see cref="Clients"/> clients, each sending a request every <see cref="Period"/> (placements with
/// an <c>Idempotency-Key</c>, alternating with reads), over four days of <see cref="SeatsPerDay"/> seats.
/// </summary>
public sealed class LoadedSample : IAsyncDisposable
{
    public const int Clients = 4;
    public const int SeatsPerDay = 60;
    public static readonly TimeSpan Period = TimeSpan.FromMilliseconds(50);

    /// <summary>How long a fault test waits for the load to reach a milestone.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly string _database;
    private readonly int _port;
    private readonly CancellationTokenSource _stop;
    private readonly Task _running;

    private LoadedSample(string database, int port, SampleProcess sample)
    {
        (_database, _port, Sample) = (database, port, sample);
        Client = ReservationLoad.Client(sample.BaseAddress);
        Days = [.. Enumerable.Range(0, 4).Select(i => Bodies.UniqueDay().AddDays(i))];
        Load = new ReservationLoad(Client, Days, Clock);
        Log = new EventLog(database);
        _stop = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        _running = Load.RunAsync(Clients, Period, _stop.Token);
    }

    public SampleProcess Sample { get; private set; }

    public HttpClient Client { get; }

    public IReadOnlyList<DateOnly> Days { get; }

    public ReservationLoad Load { get; }

    public EventLog Log { get; }

    /// <summary>The test's clock, on which the load records when each request was sent and answered.</summary>
    public Stopwatch Clock { get; } = Stopwatch.StartNew();

    public TimeSpan Now => Clock.Elapsed;

    /// <summary>Applies the sample's schema to <paramref name="database"/>, starts the sample on it and the load against it.</summary>
    public static async Task<LoadedSample> StartAsync(string database)
    {
        await SampleOnPostgres.ApplySchemaAsync(database);
        var port = SampleOnPostgres.FreePort();
        return new LoadedSample(database, port, await SampleOnPostgres.StartAsync(database, SeatsPerDay, port));
    }

    /// <summary>Waits until <paramref name="count"/> placements sent since <paramref name="since"/> are acknowledged.</summary>
    public Task WaitForAcknowledgedAsync(int count, TimeSpan since, string when) =>
        Load.WaitUntilAsync(o => o.Count(r => r.Sent >= since && r.Kind == Outcome.Place && r.Acknowledged) >= count, Patience, $"{count} acknowledged placements {when}");

    /// <summary>Kills the sample (SIGKILL) and starts it again on the same database and port; returns when it listens.</summary>
    public async Task KillAndStartAgainAsync(Func<Task> whileDown)
    {
        ArgumentNullException.ThrowIfNull(whileDown);
        await Sample.DisposeAsync();
        await whileDown();
        Sample = await SampleOnPostgres.StartAsync(_database, SeatsPerDay, _port);
    }

    /// <summary>
    /// Stops the load, sends every unacknowledged placement again with its key, then waits for the reactor and the views
    /// to catch up and checks that nothing acknowledged was lost (<see cref="NothingLost"/>).
    /// </summary>
    public async Task<(IReadOnlyList<Outcome> SentAgain, NothingLost.Verdict Verdict)> StopAndCheckAsync()
    {
        await _stop.CancelAsync();
        await _running;
        var sentAgain = await Load.RetryUnacknowledgedAsync();
        return (sentAgain, await NothingLost.CheckAsync(Client, Log, Load, Days, SeatsPerDay));
    }

    /// <summary>The projections' and the reactor's status, as an operator reads it.</summary>
    public async Task<List<ProjectionStatus>> ProjectionsAsync()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, ReservationsApi.Url("/admin/projections")).WithApiKey(SampleOnPostgres.AdminKey);
        using var response = await Client.SendAsync(request, TestContext.Current.CancellationToken);
        return await response.ReadAsync<List<ProjectionStatus>>(HttpStatusCode.OK);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _running;
        Client.Dispose();
        await Sample.DisposeAsync();
        _stop.Dispose();
    }
}
