using EventSourcing.Tests.Shared.Samples;

namespace Reservations.Tests.Faults;

/// <summary>
/// One process of a <see cref="LoadedSample"/>: the sample on a loopback port of its own, which it keeps across restarts,
/// with an HTTP client for that port. While <see cref="InRotation"/> the load sends it its share of the requests, as a
/// balancer would; a test takes it out before stopping it to keep the load on the others.
/// </summary>
public sealed class SampleNode
{
    private volatile bool _inRotation = true;

    internal SampleNode(int index, int port, SampleProcess process)
    {
        (Index, Port, Process) = (index, port, process);
        Client = ReservationLoad.Client(process.BaseAddress);
    }

    /// <summary>Its place among the processes, from 0 in the order they were started.</summary>
    public int Index { get; }

    public int Port { get; }

    /// <summary>The process running now (another one after a restart, on the same port).</summary>
    public SampleProcess Process { get; internal set; }

    public HttpClient Client { get; }

    /// <summary>Whether the load sends it requests.</summary>
    public bool InRotation
    {
        get => _inRotation;
        set => _inRotation = value;
    }

    /// <summary>The name the process goes by in the reactor's election: the library's default, machine name and process id.</summary>
    public string Name => $"{Environment.MachineName}/{Process.Id}";

    /// <summary>Takes it out of rotation and kills it (SIGKILL) for good; returns once it is gone.</summary>
    public async Task KillAsync()
    {
        InRotation = false;
        await Process.KillAsync();
    }

    /// <summary>Takes it out of rotation and stops it where it is (SIGSTOP) until <see cref="ResumeAsync"/>.</summary>
    public async Task PauseAsync()
    {
        InRotation = false;
        await Process.PauseAsync(TestContext.Current.CancellationToken);
    }

    /// <summary>Lets it run again (SIGCONT); it stays out of rotation.</summary>
    public Task ResumeAsync() => Process.ResumeAsync(TestContext.Current.CancellationToken);

    public override string ToString() => $"process {Index} ({Name}, port {Port})";
}
