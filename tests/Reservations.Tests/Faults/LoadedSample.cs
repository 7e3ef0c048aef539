using System.Diagnostics;
using System.Net;
using EventSourcing.Tests.Shared.Samples;
using Reservations.Tests.Infrastructure;

namespace Reservations.Tests.Faults;

/// <summary>
/// The sample API as one or more processes on one PostgreSQL database (<see cref="Nodes"/>, each on a loopback port it
/// keeps across restarts), under the fault tests' bounded load: <see cref="Clients"/> clients, each sending a request
/// every <see cref="Period"/> (placements with an <c>Idempotency-Key</c>, alternating with reads, and cancellations when
/// asked for), over four days of <see cref="SeatsPerDay"/> seats. Client <c>c</c> sends to the <c>c</c>-th process in
/// rotation (modulo their number), so the load is spread over every process a test has not taken out.
/// </summary>
public sealed class LoadedSample : IAsyncDisposable
{
    public const int Clients = 4;
    public static readonly TimeSpan Period = TimeSpan.FromMilliseconds(50);

    /// <summary>How long a fault test waits for the load to reach a milestone.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly string _database;
    private readonly IReadOnlyDictionary<string, string?>? _settings;
    private readonly CancellationTokenSource _stop;
    private readonly Task _running;

    private LoadedSample(string database, IReadOnlyDictionary<string, string?>? settings, IReadOnlyList<SampleNode> nodes, int seatsPerDay, int cancelEvery)
    {
        (_database, _settings, Nodes, SeatsPerDay) = (database, settings, nodes, seatsPerDay);
        Days = [.. Enumerable.Range(0, 4).Select(i => Bodies.UniqueDay().AddDays(i))];
        Load = new ReservationLoad(Route, Days, Clock) { CancelEvery = cancelEvery };
        Log = new EventLog(database);
        Leadership = new ReactorLeadership(database);
        Backends = new Backends(database);
        _stop = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        _running = Load.RunAsync(Clients, Period, _stop.Token);
    }

    /// <summary>The sample's processes, in the order they were started.</summary>
    public IReadOnlyList<SampleNode> Nodes { get; }

    /// <summary>The first process (the only one, for a single-process run).</summary>
    public SampleProcess Sample => Nodes[0].Process;

    /// <summary>A client of the first process in rotation (of the first process when none is), for probes and checks.</summary>
    public HttpClient Client => (Nodes.FirstOrDefault(n => n.InRotation) ?? Nodes[0]).Client;

    public IReadOnlyList<DateOnly> Days { get; }

    public int SeatsPerDay { get; }

    public ReservationLoad Load { get; }

    public EventLog Log { get; }

    /// <summary>Which process runs the reactor, read from PostgreSQL.</summary>
    public ReactorLeadership Leadership { get; }

    /// <summary>The sample's sessions as PostgreSQL sees them (open transactions, lock waits), for diagnostics.</summary>
    public Backends Backends { get; }

    /// <summary>The test's clock, on which the load records when each request was sent and answered.</summary>
    public Stopwatch Clock { get; } = Stopwatch.StartNew();

    public TimeSpan Now => Clock.Elapsed;

    /// <summary>
    /// Applies the sample's schema to <paramref name="database"/>, starts <paramref name="processes"/> processes of the
    /// sample on it, one after the other (each with days of <paramref name="seatsPerDay"/> seats), and the load against
    /// them; each client cancels every <paramref name="cancelEvery"/>th reservation it placed (0: none). Every process,
    /// and every restart of one, gets <paramref name="settings"/> on top of the deployment's (<c>Nats:Url</c> to forward).
    /// </summary>
    public static async Task<LoadedSample> StartAsync(string database, int processes = 1, int seatsPerDay = 60, int cancelEvery = 0, IReadOnlyDictionary<string, string?>? settings = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(processes, 1);
        await SampleOnPostgres.ApplySchemaAsync(database);
        var nodes = new List<SampleNode>();
        try
        {
            for (var i = 0; i < processes; i++)
            {
                var port = SampleOnPostgres.FreePort();
                nodes.Add(new SampleNode(i, port, await SampleOnPostgres.StartAsync(database, seatsPerDay, port, settings)));
            }
        }
        catch
        {
            await Task.WhenAll(nodes.Select(n => n.Process.DisposeAsync().AsTask()));
            throw;
        }

        return new LoadedSample(database, settings, nodes, seatsPerDay, cancelEvery);
    }

    /// <summary>Waits until <paramref name="count"/> placements sent since <paramref name="since"/> are acknowledged.</summary>
    public Task WaitForAcknowledgedAsync(int count, TimeSpan since, string when) =>
        Load.WaitUntilAsync(o => o.Count(r => r.Sent >= since && r.Kind == Outcome.Place && r.Acknowledged) >= count, Patience, $"{count} acknowledged placements {when}");

    /// <summary>Kills the first process (SIGKILL) and starts it again on the same database and port; returns when it listens.</summary>
    public Task KillAndStartAgainAsync(Func<Task> whileDown) => KillAndStartAgainAsync(Nodes[0], whileDown);

    /// <summary>Kills <paramref name="node"/> (SIGKILL) and starts it again on the same database and port; returns when it listens.</summary>
    public async Task KillAndStartAgainAsync(SampleNode node, Func<Task> whileDown)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(whileDown);
        await node.Process.DisposeAsync();
        await whileDown();
        node.Process = await SampleOnPostgres.StartAsync(_database, SeatsPerDay, node.Port, _settings);
    }

    /// <summary>The process holding <paramref name="holder"/>, the reactor's lock (null: none of these).</summary>
    public SampleNode? NodeOf(LeaderLock? holder) => holder is null ? null : Nodes.FirstOrDefault(n => n.Name == holder.Node);

    /// <summary>Waits until one of the processes runs the reactor (it holds the lock); returns it.</summary>
    public async Task<SampleNode> WaitForLeaderAsync()
    {
        var holder = await Eventually.Async(Leadership.HolderAsync, h => NodeOf(h) is not null, "a process to run the reactor", Patience, TimeSpan.FromMilliseconds(50));
        return NodeOf(holder)!;
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
        foreach (var node in Nodes)
        {
            node.Client.Dispose();
            await node.Process.DisposeAsync();
        }

        _stop.Dispose();
    }

    /// <summary>The client <paramref name="client"/> of the load sends to: the processes in rotation take turns.</summary>
    private HttpClient Route(int client)
    {
        var serving = Nodes.Where(n => n.InRotation).ToList();
        return serving.Count == 0 ? Nodes[client % Nodes.Count].Client : serving[client % serving.Count].Client;
    }
}
